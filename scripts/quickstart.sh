#!/usr/bin/env bash
# Install the project into .venv and run the main job on the embedded CPU models.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -c constraints/cpu.txt -e .
exec .venv/bin/synth run recipes/quickstart.toml "$@"
