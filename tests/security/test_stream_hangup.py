"""Hole: a stream with nothing to send (`events`, `logs -f` of a quiet
container, `wait`) sits suspended out of the HTTP library's sight; a
client that hung up kept its socket, its buffer and its place among the
daemon's connections until something was written to it — on a quiet host,
forever.  Hundreds of such clients fill the connection cap.  Defence:
src/daemon/http.c watches a suspended stream's socket for the peer's
hang-up and ends the stream at once."""
import os
import socket
import time

import pytest

CLIENTS = 200


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def open_stream(engine, req):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(engine.sock)
    s.sendall(req + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    got = s.recv(512)  # the headers: the handler ran and is waiting
    assert got.startswith(b"HTTP/1.1 200"), got
    return s


def test_quiet_streams_are_released_when_their_client_hangs_up(engine,
                                                                unique):
    if engine.kind != "berthd":
        pytest.skip("counts berthd's descriptors")
    pid = engine.proc.pid
    name = unique + "-quiet"
    engine.docker("run", "-d", "--name", name, engine.image, "sleep", "300")
    try:
        cid = engine.docker("inspect", "-f", "{{.Id}}",
                            name).stdout.decode().strip()
        time.sleep(0.5)
        base = open_fds(pid)
        paths = [b"GET /v1.44/events",
                 b"GET /v1.44/containers/%s/logs?follow=1&stdout=1" %
                 cid.encode(),
                 b"POST /v1.44/containers/%s/wait" % cid.encode()]
        socks = [open_stream(engine, paths[i % 3]) for i in range(CLIENTS)]
        assert open_fds(pid) >= base + CLIENTS * 0.9
        for s in socks:
            s.close()
        # Nothing is written to any of them: no event, no log line, the
        # container keeps running.  The daemon must let go by itself.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and open_fds(pid) > base + 5:
            time.sleep(0.1)
        assert open_fds(pid) <= base + 5, (
            f"{open_fds(pid) - base} descriptors still held for clients "
            "that hung up")
    finally:
        engine.docker("rm", "-f", name, check=False)
