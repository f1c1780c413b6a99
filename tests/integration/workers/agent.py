"""The agent of the worker tests: ``python agent.py RUNS_FILE``.

Appends ``task attempt agent`` to RUNS_FILE when it starts (a line per run, so a test
counts the runs of each task), then speaks the harness protocol and succeeds. A task whose
description holds ``hang-first`` hangs on its first run until its parent (the worker)
is gone, as an agent whose worker was killed would stop (it exits then).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def say(**message: object) -> None:
    print(json.dumps(message), flush=True)


def main() -> int:
    runs, env = sys.argv[1], os.environ
    attempt, task_id = env["HARNESS_ATTEMPT"], env["HARNESS_TASK_ID"]
    earlier = Path(runs).read_text(encoding="utf-8") if os.path.exists(runs) else ""
    first = all(line.split()[0] != task_id for line in earlier.splitlines())
    with open(runs, "a", encoding="utf-8") as out:
        out.write(f"{env['HARNESS_TASK_ID']} {attempt} {env['HARNESS_AGENT']}\n")
        out.flush()
        os.fsync(out.fileno())
    say(type="heartbeat")
    if "hang-first" in env.get("HARNESS_TASK_DESCRIPTION", "") and first:
        parent = os.getppid()
        while os.getppid() == parent:  # until the worker is killed
            say(type="heartbeat")
            time.sleep(0.05)
        return 1
    say(type="iteration", iteration=1, summary="done", input_tokens=10, output_tokens=5)
    say(type="progress", percent=100)
    return 0


if __name__ == "__main__":
    sys.exit(main())
