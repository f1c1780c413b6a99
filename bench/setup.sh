#!/usr/bin/env bash
# Installs the benchmark's peers into bench/.peers, apart from the product's dependencies:
#   bench/.peers/venv          python-socketio + uvicorn (the Python peer), picows (the load driver)
#   bench/.peers/node_modules  ws (the Node reference server)
# Idempotent: a second run only checks what is there. Usage: bash bench/setup.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
peers="$here/.peers"
python="${PYTHON:-$here/../.venv/bin/python}"
mkdir -p "$peers"

if [ ! -x "$peers/venv/bin/python" ]; then
  "$python" -m venv "$peers/venv"
fi
"$peers/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  -r "$here/requirements-peers.txt"

if [ ! -f "$peers/node_modules/ws/package.json" ]; then
  cp "$here/package.json" "$peers/package.json"
  (cd "$peers" && npm install --silent --no-audit --no-fund)
fi
echo "peers ready in $peers"
