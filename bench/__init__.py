"""The fan-out benchmark: the hub against a bare aiohttp loop, python-socketio and Node `ws`.

Run it with ``.venv/bin/python -m bench.fanout`` (see docs/benchmarks.md); ``bash bench/setup.sh``
installs the peers into ``bench/.peers`` first.
"""
