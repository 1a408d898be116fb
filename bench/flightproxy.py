#!/usr/bin/python3
"""flightproxy.py -- a TCP proxy that delays every chunk and counts flights.

    flightproxy.py LISTEN_PORT UPSTREAM_PORT DELAY_MS REPORT_FILE

Listens on 127.0.0.1:LISTEN_PORT and forwards each connection to
127.0.0.1:UPSTREAM_PORT.  Every chunk read in either direction is written
to the other side DELAY_MS milliseconds after it was read (order kept), so
a round trip costs 2 x DELAY_MS as on a link with that one-way latency
(this kernel has no netem).  DELAY_MS 0 forwards at once.

A "flight" is a maximal run of client-to-server bytes with no server bytes
between them: the client's turns to talk.  When a connection ends, one JSON
line is appended to REPORT_FILE:
    {"client_flights": N, "server_flights": M,
     "client_bytes": B, "server_bytes": C, "client_records": R,
     "seconds": S}
client_records counts the TLS records the client sent, parsing its bytes
as TLS from the first one (so meaningful for implicit TLS, port 465).
A run of chunks counts as one flight even if TCP delivered it in several
segments, because a flight ends only when the other side has spoken.
Loopback only: both addresses are 127.0.0.1.  Stops on SIGTERM.
"""
import asyncio
import json
import signal
import sys
import time

CHUNK = 65536


class Conn:
    def __init__(self):
        self.last = None  # direction of the last chunk: "c" or "s"
        self.flights = {"c": 0, "s": 0}
        self.bytes = {"c": 0, "s": 0}
        self.start = time.monotonic()
        self.records = 0
        self.head = b""  # the part of a record header seen so far
        self.body = 0  # bytes of the current record still to come

    def saw(self, direction, data):
        if self.last != direction:
            self.flights[direction] += 1
            self.last = direction
        self.bytes[direction] += len(data)
        if direction == "c":
            self.count_records(data)

    def count_records(self, data):
        i = 0
        while i < len(data):
            if self.body > 0:
                take = min(self.body, len(data) - i)
                self.body -= take
                i += take
                continue
            take = min(5 - len(self.head), len(data) - i)
            self.head += data[i:i + take]
            i += take
            if len(self.head) == 5:
                self.records += 1
                self.body = int.from_bytes(self.head[3:5], "big")
                self.head = b""


async def pump(reader, writer, conn, direction, delay):
    """Copy reader to writer, each chunk delivered delay seconds late."""
    queue = asyncio.Queue()

    async def deliver():
        while True:
            due, data = await queue.get()
            if data is None:
                break
            pause = due - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            writer.write(data)
            await writer.drain()
        try:
            writer.write_eof()
        except (OSError, RuntimeError):
            pass

    task = asyncio.ensure_future(deliver())
    try:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                break
            conn.saw(direction, data)
            await queue.put((time.monotonic() + delay, data))
    except OSError:
        pass
    await queue.put((0, None))
    try:
        await task
    except OSError:
        pass


async def handle(creader, cwriter, upstream, delay, report):
    conn = Conn()
    try:
        sreader, swriter = await asyncio.open_connection("127.0.0.1",
                                                         upstream)
    except OSError:
        cwriter.close()
        return
    await asyncio.gather(pump(creader, swriter, conn, "c", delay),
                         pump(sreader, cwriter, conn, "s", delay))
    for w in (cwriter, swriter):
        w.close()
    line = {"client_flights": conn.flights["c"],
            "server_flights": conn.flights["s"],
            "client_bytes": conn.bytes["c"],
            "server_bytes": conn.bytes["s"],
            "client_records": conn.records,
            "seconds": round(time.monotonic() - conn.start, 4)}
    with open(report, "a") as f:
        f.write(json.dumps(line) + "\n")


async def main():
    listen, upstream = int(sys.argv[1]), int(sys.argv[2])
    delay, report = float(sys.argv[3]) / 1000.0, sys.argv[4]
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, upstream, delay, report),
        "127.0.0.1", listen)
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM,
                                                  stop.set_result, None)
    async with server:
        await stop


if __name__ == "__main__":
    asyncio.run(main())
