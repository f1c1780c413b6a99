"""A stand-in for ``claude -p --output-format stream-json`` that runs its hooks as Claude
Code does: ``python fake_claude_hooks.py [--settings JSON] TOOL=TARGET...``.

For each ``TOOL=TARGET`` it calls the PreToolUse (or PermissionRequest) hook command its
``--settings`` give, through a shell, with the hook input as JSON on stdin, and reads the
decision from the hook's stdout; it prints Claude Code's stream-json lines for the call
(``tool_use``, then a ``tool_result`` that is an error when the call was denied), appends
``{tool, target, exit, output}`` as a JSON line to ``hooks.jsonl`` in its working
directory, and ends with a ``result`` line. The prompt comes on stdin, as with ``-p``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def say(message: dict[str, object]) -> None:
    print(json.dumps(message), flush=True)


def hook_of(settings: dict[str, object]) -> tuple[str, str, str] | None:
    hooks = settings.get("hooks")
    if not isinstance(hooks, dict):
        return None
    for event in ("PreToolUse", "PermissionRequest"):
        for entry in hooks.get(event, []):
            for hook in entry["hooks"]:
                return event, entry["matcher"], hook["command"]
    return None


def main(argv: list[str]) -> int:
    settings: dict[str, object] = {}
    if argv[:1] == ["--settings"]:
        settings, argv = json.loads(argv[1]), argv[2:]
    prompt = sys.stdin.read()
    say({"type": "system", "subtype": "init", "session_id": "c-1", "model": "claude-sonnet-4-5",
         "tools": ["Bash", "Edit", "Read"], "prompt_chars": len(prompt)})  # fmt: skip
    found = hook_of(settings)
    for n, call in enumerate(argv, 1):
        tool, _, target = call.partition("=")
        key = "command" if tool == "Bash" else "file_path"
        tool_input = {key: target}
        say({"type": "assistant", "session_id": "c-1", "message": {"id": f"m{n}", "content": [
            {"type": "tool_use", "id": f"t{n}", "name": tool, "input": tool_input}]}})  # fmt: skip
        denied, record = False, {"tool": tool, "target": target}
        if found is not None:
            event, _, command = found
            hook_input = {"session_id": "c-1", "hook_event_name": event, "tool_name": tool,
                          "tool_input": tool_input, "tool_use_id": f"t{n}",
                          "cwd": str(Path.cwd()), "permission_mode": "default"}  # fmt: skip
            done = subprocess.run(command, shell=True, input=json.dumps(hook_input),
                                  capture_output=True, text=True, check=False)  # fmt: skip
            output = json.loads(done.stdout) if done.returncode == 0 else None
            record.update({"exit": done.returncode, "output": output, "stderr": done.stderr})
            specific = (output or {}).get("hookSpecificOutput", {})
            decision = specific.get("permissionDecision") or specific.get("decision", {}).get(
                "behavior"
            )
            denied = done.returncode == 2 or decision == "deny"
        with Path("hooks.jsonl").open("a") as log:
            log.write(json.dumps(record) + "\n")
        say({"type": "user", "session_id": "c-1", "message": {"content": [
            {"type": "tool_result", "tool_use_id": f"t{n}", "is_error": denied,
             "content": "denied by the hook" if denied else "ok"}]}})  # fmt: skip
    say({"type": "result", "subtype": "success", "is_error": False, "num_turns": len(argv),
         "total_cost_usd": 0.01, "session_id": "c-1",
         "usage": {"input_tokens": 10, "output_tokens": 5}})  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
