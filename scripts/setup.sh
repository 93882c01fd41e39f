#!/usr/bin/env bash
# From a fresh clone: build .venv, install tanya (CPU torch pinned), index the sample articles
# in articles/ and ask the reference question.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
# constraints.txt pins the tested set, torch==2.13.0 (the CPU wheel) included.
.venv/bin/python -m pip install --quiet -c constraints.txt torch==2.13.0
.venv/bin/python -m pip install --quiet -c constraints.txt -e '.[dev]'
.venv/bin/tanya index sync articles/
.venv/bin/tanya search "Why did Musk leave OpenAI?" -k 3
