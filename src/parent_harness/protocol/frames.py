"""RFC 6455 server frames, built by hand so the fan-out can write synchronously.

A server never masks (RFC 6455 section 5.1), so a text frame is a 2, 4 or 10 byte
header and the payload. Building it here lets the hub hand each client's transport
one `write()` with everything pending for it, with no task and no await per client.
"""

from __future__ import annotations

import struct

_TEXT_FIN = 0x81
_LEN16 = struct.Struct("!BBH")
_LEN64 = struct.Struct("!BBQ")


def text_frame(payload: bytes) -> bytes:
    """One unmasked, final text frame carrying `payload` (UTF-8 JSON)."""
    n = len(payload)
    if n < 126:
        return bytes((_TEXT_FIN, n)) + payload
    if n < 65536:
        return _LEN16.pack(_TEXT_FIN, 126, n) + payload
    return _LEN64.pack(_TEXT_FIN, 127, n) + payload


def batch(messages: list[bytes]) -> bytes:
    """Several encoded messages as one JSON array (natural batching), or the one message."""
    if len(messages) == 1:
        return messages[0]
    return b"[" + b",".join(messages) + b"]"
