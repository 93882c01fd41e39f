#!/usr/bin/env bash
# The whole check: lint, types, then every test (the slow real-model ones included).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/python -m pytest -q "$@"
