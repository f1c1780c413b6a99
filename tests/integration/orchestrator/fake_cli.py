"""Stand-ins for ``claude`` and ``codex`` that record how they were called.

``python fake_cli.py claude ARGS...`` (or ``codex``) reads ARGS the way a command
line parser does: before ``--``, a word starting with ``-`` is an option (a known
flag, an option taking the next word as its value, or an unknown option); every
other word, and every word after ``--``, is positional. The first positional is
the prompt; none, or ``-``, means the prompt is read from stdin. It writes
``{"argv", "flags", "unknown", "positional", "prompt"}`` as JSON to ``<name>.json``
in its working directory and exits 0. The security tests use it to see whether a
task's text reached the agent as an option.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Cli:
    flags: frozenset[str]
    valued: frozenset[str] = frozenset()
    subcommand: str | None = None


CLIS = {
    "claude": Cli(
        frozenset({"-p", "--print", "--verbose", "--dangerously-skip-permissions"}),
        frozenset({"--output-format", "--max-turns", "--permission-mode"}),
    ),
    "codex": Cli(
        frozenset({"--json", "--full-auto", "--dangerously-bypass-approvals-and-sandbox"}),
        subcommand="exec",
    ),
}


def parse(cli: Cli, args: list[str]) -> dict[str, Any]:
    """The flags set, the unknown options and the positional words of ``args``."""
    flags = dict.fromkeys(cli.flags, False)
    unknown: list[str] = []
    positional: list[str] = []
    words = iter(args)
    for word in words:
        if word == "--":
            positional.extend(words)
        elif word in cli.flags:
            flags[word] = True
        elif word in cli.valued:
            next(words, None)
        elif word.startswith("-") and word != "-":
            unknown.append(word)
        else:
            positional.append(word)
    if cli.subcommand is not None:
        assert positional[:1] == [cli.subcommand], positional
        positional = positional[1:]
    return {"flags": flags, "unknown": unknown, "positional": positional}


def main() -> int:
    name, args = sys.argv[1], sys.argv[2:]
    record = {"argv": args, **parse(CLIS[name], args)}
    prompt = record["positional"][0] if record["positional"] else "-"
    record["prompt"] = sys.stdin.read() if prompt == "-" else prompt
    Path(f"{name}.json").write_text(json.dumps(record), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
