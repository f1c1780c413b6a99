"""An agent that prints what real agents print at their worst (issue 16's bad input).

noisy_agent.py mixed GO_FILE   colours, secrets, a private key, binary, invalid UTF-8,
                               a CR progress bar, a 10 MB line, then a prompt without
                               a newline, held until GO_FILE exists
noisy_agent.py flood N         N numbered lines as fast as it can, then "done"
"""

from __future__ import annotations

import base64
import os
import sys
import time

out = sys.stdout.buffer
err = sys.stderr.buffer


def line(text: str, stream: object = out) -> None:
    stream.write(text.encode() + b"\n")  # type: ignore[attr-defined]
    stream.flush()  # type: ignore[attr-defined]


def mixed(go_file: str) -> None:
    line("hello \x1b[32mgreen\x1b[0m world")
    line("ANTHROPIC_API_KEY=sk-ant-api03-" + "Q" * 40 + "x" * 53 + "AA")
    line("curl -H 'Authorization: Bearer abcdef1234567890abcdef1234567890'", err)
    body = base64.b64encode(bytes(range(256)) * 4).decode()
    line("-----BEGIN OPENSSH PRIVATE KEY-----")
    for i in range(0, len(body), 70):
        line(body[i : i + 70])
    line("-----END OPENSSH PRIVATE KEY-----")
    out.write(b"bin \x00\x01\x02 and bad utf-8 \xff\xfe\xc3 end\n")
    for percent in range(0, 101, 10):
        out.write(f"\rdownloading {percent:3d}%".encode())
    out.write(b"\n")
    out.write(b"L" * 10_000_000 + b"\n")
    line("after the long line")
    out.write(b"Continue? [y/n] ")
    out.flush()
    while not os.path.exists(go_file):  # the test answers once it saw the prompt
        time.sleep(0.02)
    line("y")
    line("bye")


def flood(count: int) -> None:
    started = time.monotonic()
    for n in range(1, count + 1):
        out.write(b"flood line %d\n" % n)
    out.flush()
    line(f"done in {time.monotonic() - started:.3f}s", err)


if __name__ == "__main__":
    if sys.argv[1] == "mixed":
        mixed(sys.argv[2])
    else:
        flood(int(sys.argv[2]))
