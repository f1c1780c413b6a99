"""Test commands as argv, for a process started without a shell.

A suite's ``command`` (and a task's own, where allowed) is a list of words, or a
string split into words the way a shell would split it; no shell ever runs it.
What only a shell understands (``&&``, ``;``, ``|``, redirections, ``$(...)``, a
leading ``VAR=value``) is refused by :func:`command_argv` with a message saying
what to write instead, rather than reaching the program as stray arguments.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

SHELL_WORDS = frozenset({"&&", "||", ";", "|", "|&", "&", "<", ">", ">>", "2>", "2>&1", "&>"})
"""Words of a command list that only mean something to a shell, which never runs one."""

OPERATOR_CHARS = frozenset("();<>|&")
"""Characters a shell reads as operators when unquoted in a command string."""


def command_argv(command: str | Sequence[str]) -> tuple[str, ...]:
    """A test command as argv: a list as it is, a string split like a shell (never run by one).

    Raises :class:`ValueError` for an empty command or one that needs a shell
    (``&&``, ``|``, ``>``, ``VAR=value cmd``), naming what to write instead.
    """
    if isinstance(command, str):
        words, shell = shlex.split(command), _shell_operators(command)
    elif isinstance(command, list | tuple):
        words, shell = list(command), [word for word in command if word in SHELL_WORDS]
    else:
        words, shell = [], []
    if not words or not all(isinstance(word, str) and word for word in words):
        raise ValueError("a test command is a non-empty list of words (or a string of them)")
    if shell or re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
        what = repr(shell[0]) if shell else f"the variable assignment {words[0]!r}"
        raise ValueError(
            f"{what} is shell syntax, and no shell runs a test command; write it as "
            f'["sh", "-c", "..."] in harness.toml if a shell is what you want'
        )
    return tuple(words)


def _shell_operators(command: str) -> list[str]:
    """The unquoted, unescaped operators (``;``, ``&&``, ``$(``...) a shell would see."""
    lexer = shlex.shlex(command, posix=False, punctuation_chars="".join(sorted(OPERATOR_CHARS)))
    lexer.whitespace_split = True
    found, previous = [], ""
    for token in lexer:
        if set(token) <= OPERATOR_CHARS and not previous.endswith("\\"):
            found.append(token)
        previous = token
    return found
