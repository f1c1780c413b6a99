#!/usr/bin/env bash
# The fan-out benchmark, one command: installs the peers into bench/.peers (once), then runs
# every server side by side and writes bench/results/fanout.{json,md}.
#   bash bench/run.sh              # three runs, about 15 minutes
#   bash bench/run.sh --tiny       # a few clients, about a second a figure (what CI runs)
set -euo pipefail
cd "$(dirname "$0")/.."
bash bench/setup.sh >/dev/null
runs=(--runs 3)
for arg in "$@"; do [ "$arg" = "--tiny" ] && runs=(--runs 1); done
exec .venv/bin/python -m bench.fanout "${runs[@]}" "$@"
