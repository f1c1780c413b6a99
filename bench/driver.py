"""The load driver: one process holding many WebSocket clients, built on picows.

Each client counts the benchmark events it receives (a frame may hold a JSON array of several:
each counts) and, while sampling is on, the publish-to-receive latency of every one of them.
The process takes JSON commands on stdin and answers each with one JSON line on stdout:

- ``{"cmd": "connect", "url": U, "n": N, "kind": "ws"|"sio"}`` opens N clients, answers once
  every one has been greeted by the server;
- ``{"cmd": "sample", "on": true}`` starts or stops latency sampling;
- ``{"cmd": "dump", "path": P}`` writes the sampled latencies (int64 ns), then each one's
  publish time (the publisher's clock, ns), to P and clears them;
- ``{"cmd": "stall", "n": 1}`` makes N clients stop reading (and leaves them out of the minimum);
- ``{"cmd": "report"}`` tells how many clients are open and which close codes were seen;
- ``{"cmd": "close"}`` closes every client; ``{"cmd": "exit"}`` ends the process.

Progress goes to a shared counter file (``--slots``, row ``--index``) so the publisher can keep
a bounded number of events in flight without asking: ready clients, events received, the
fewest events any live reading client has, frames received. Runs in ``bench/.peers/venv``:
``python -m bench.driver --slots FILE --index I``.
"""

from __future__ import annotations

import argparse
import asyncio
import mmap
import resource
import socket
import sys
from array import array
from collections import Counter
from typing import Any

import orjson
import uvloop
from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from bench.events import MARK, PUBLISH_TIME, now_ns
from bench.slots import EVENTS, FEWEST, FRAMES, READY, SLOT_WIDTH

CONNECT_BATCH = 200
PROGRESS_S = 0.005


class Tally:
    """What one driver process has received, across its clients."""

    def __init__(self) -> None:
        self.clients: list[Client] = []
        self.ready = 0
        self.frames = 0
        self.events = 0
        self.reading: list[Client] | None = None
        self.sampling = False
        self.latencies = array("q")
        self.published = array("q")
        self.close_codes: Counter[int] = Counter()
        self.greeted = asyncio.Event()
        self.wanted = 0

    def sample(self, data: bytes, received_ns: int) -> None:
        """Keeps the latency of every event in a frame."""
        for stamp in PUBLISH_TIME.findall(data):
            published = int(stamp)
            self.latencies.append(received_ns - published)
            self.published.append(published)

    def greet(self) -> None:
        """Counts a client the server has taken in."""
        self.ready += 1
        if self.ready >= self.wanted:
            self.greeted.set()

    def fewest(self) -> int:
        """The fewest events any open, reading client has received."""
        if self.reading is None:
            self.reading = [c for c in self.clients if c.ready and not c.stalled and not c.closed]
        return min([c.events for c in self.reading], default=0)


class Client(WSListener):
    """One WebSocket client: counts events, answers Engine.IO pings for Socket.IO."""

    def __init__(self, tally: Tally, socketio: bool) -> None:
        super().__init__()
        self.tally = tally
        self.socketio = socketio
        self.events = 0
        self.ready = False
        self.stalled = False
        self.closed = False
        self.transport: WSTransport | None = None

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        self.tally.clients.append(self)
        self.tally.reading = None

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type != WSMsgType.TEXT:
            return
        data = frame.get_payload_as_bytes()
        tally = self.tally
        tally.frames += 1
        count = data.count(MARK)
        if count:
            self.events += count
            tally.events += count
            if tally.sampling:
                tally.sample(data, now_ns())
        elif not self.ready or self.socketio:
            self.control(transport, data)

    def control(self, transport: WSTransport, data: bytes) -> None:
        """Handles what is not an event: the greeting, and Engine.IO's open and ping."""
        if self.socketio:
            if data == b"2":
                transport.send(WSMsgType.TEXT, b"3")
                return
            if data.startswith(b"0{"):
                transport.send(WSMsgType.TEXT, b"40")
                return
            if not data.startswith(b'42["welcome"'):
                return
        if not self.ready:
            self.ready = True
            self.tally.reading = None
            self.tally.greet()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.closed = True
        self.tally.reading = None
        received = transport.close_handshake
        code = received.recv.code if received and received.recv else 1006
        self.tally.close_codes[code.value if isinstance(code, WSCloseCode) else code] += 1

    def stall(self) -> None:
        """Stops reading, with a small receive buffer, as a client on a stuck device would."""
        if self.transport is None:
            return
        raw = self.transport.underlying_transport
        sock = raw.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.pause_reading()
        self.stalled = True
        self.tally.reading = None


class Driver:
    """Runs the commands of one driver process."""

    def __init__(self, slots: memoryview, index: int) -> None:
        self.tally = Tally()
        self.row = slots[index * SLOT_WIDTH : (index + 1) * SLOT_WIDTH]

    async def connect(self, url: str, n: int, kind: str) -> dict[str, Any]:
        """Opens n clients and waits until the server has greeted every one."""
        tally = self.tally
        started = now_ns()
        tally.wanted = tally.ready + n
        tally.greeted.clear()
        socketio = kind == "sio"
        for first in range(0, n, CONNECT_BATCH):
            size = min(CONNECT_BATCH, n - first)
            await asyncio.gather(*(self._open(url, socketio) for _ in range(size)))
        await asyncio.wait_for(tally.greeted.wait(), timeout=60)
        return {"ready": tally.ready, "seconds": (now_ns() - started) / 1e9}

    async def _open(self, url: str, socketio: bool) -> None:
        await ws_connect(lambda: Client(self.tally, socketio), url, websocket_handshake_timeout=30)

    async def close(self) -> dict[str, Any]:
        """Closes every client (a close handshake, then the socket) and forgets them."""
        clients, self.tally.clients = self.tally.clients, []
        open_ones = [c.transport for c in clients if c.transport is not None and not c.closed]
        for transport in open_ones:
            transport.send_close(WSCloseCode.OK)
            transport.disconnect()
        await asyncio.wait_for(
            asyncio.gather(*(transport.wait_disconnected() for transport in open_ones)), 30
        )
        self.tally.ready = 0
        self.tally.reading = None
        self.tally.close_codes.clear()
        return {"closed": len(clients)}

    def dump(self, path: str) -> dict[str, Any]:
        """Writes the sampled latencies, then their publish times, to a file and starts
        afresh."""
        samples, self.tally.latencies = self.tally.latencies, array("q")
        published, self.tally.published = self.tally.published, array("q")
        with open(path, "wb") as out:
            samples.tofile(out)
            published.tofile(out)
        return {"count": len(samples)}

    def stall(self, n: int) -> dict[str, Any]:
        """Makes the first n reading clients stop reading."""
        reading = [c for c in self.tally.clients if c.ready and not c.stalled and not c.closed]
        for client in reading[:n]:
            client.stall()
        return {"stalled": min(n, len(reading))}

    def report(self) -> dict[str, Any]:
        """Open clients, and the close codes seen so far."""
        tally = self.tally
        open_clients = sum(1 for c in tally.clients if not c.closed)
        codes = {str(code): count for code, count in tally.close_codes.items()}
        stalled = [c.events for c in tally.clients if c.stalled]
        return {"open": open_clients, "close_codes": codes, "stalled_events": stalled}

    async def publish_progress(self) -> None:
        """Keeps this driver's row of counters current."""
        tally, row = self.tally, self.row
        while True:
            row[READY] = tally.ready
            row[EVENTS] = tally.events
            row[FEWEST] = tally.fewest()
            row[FRAMES] = tally.frames
            await asyncio.sleep(PROGRESS_S)

    async def run(self, command: dict[str, Any]) -> dict[str, Any]:
        """Runs one command and returns its answer."""
        match command["cmd"]:
            case "connect":
                return await self.connect(command["url"], command["n"], command["kind"])
            case "sample":
                self.tally.sampling = bool(command["on"])
                return {}
            case "dump":
                return self.dump(command["path"])
            case "stall":
                return self.stall(int(command["n"]))
            case "report":
                return self.report()
            case "close":
                return await self.close()
        raise ValueError(f"unknown command {command['cmd']!r}")


def map_slots(path: str) -> memoryview:
    """The shared counter file, as int64s."""
    with open(path, "r+b") as file:
        return memoryview(mmap.mmap(file.fileno(), 0)).cast("q")


async def serve(slots: memoryview, index: int) -> None:
    """Reads commands from stdin until ``exit`` or end of input."""
    driver = Driver(slots, index)
    progress = asyncio.create_task(driver.publish_progress())
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        command = orjson.loads(line)
        if command["cmd"] == "exit":
            break
        try:
            answer = await driver.run(command)
        except Exception as error:  # the controller reports it; the driver keeps serving
            answer = {"error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(orjson.dumps(answer).decode() + "\n")
        sys.stdout.flush()
    progress.cancel()


def raise_open_file_limit() -> None:
    """Lets this process hold as many sockets as the hard limit allows."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main() -> None:
    """Entry point: ``python -m bench.driver --slots FILE --index I``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--slots", required=True)
    parser.add_argument("--index", type=int, required=True)
    args = parser.parse_args()
    raise_open_file_limit()
    uvloop.run(serve(map_slots(args.slots), args.index))


if __name__ == "__main__":
    main()
