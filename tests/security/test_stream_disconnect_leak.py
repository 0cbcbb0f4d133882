"""Hole: every client that opens a stream (events, wait, logs -f, pull
progress) and hangs up leaked the stream and its buffer in berthd, so any
API client could grow the daemon without bound by connecting to /events
in a loop.  Found by tests/fuzz/daemon (a leak report on the events
seed).  The check: fill the event ring, then let many clients ask for
/events?since=0 (a reply buffer of the whole ring each) and hang up; the
daemon's resident memory must not grow by their buffers."""
import socket

import pytest

from conftest import api_json, rss_kib

CLIENTS = 300


def events_and_hang_up(engine):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(engine.sock)
    s.sendall(b"GET /v1.44/events?since=0 HTTP/1.1\r\nHost: x\r\n\r\n")
    got = s.recv(512)  # the stream's headers: the handler ran
    assert got.startswith(b"HTTP/1.1 200"), got
    s.close()


def test_events_clients_that_hang_up_are_freed(engine, unique):
    if engine.kind != "berthd":
        pytest.skip("measures berthd's memory")
    names = [f"{unique}-v{i}" for i in range(200)]
    extra = names[-1] + "x"
    try:
        # ~200 volume events of ~300 bytes: each /events?since=0 reply
        # buffers about 60 KiB.
        for n in names:
            st, _ = api_json(engine, "POST", "/v1.44/volumes/create",
                             {"Name": n, "Labels": {"pad": "x" * 100}})
            assert st == 201
        # A stream whose client read everything waits (suspended) for the
        # next event; writing that finds the client gone, and the stream is
        # released then.  The first round sizes the allocator's heap; the
        # second must fit in what the first freed.
        rss = []
        for rnd in range(2):
            for _ in range(CLIENTS):
                events_and_hang_up(engine)
            st, _ = api_json(engine, "POST", "/v1.44/volumes/create",
                             {"Name": f"{extra}{rnd}"})
            assert st == 201
            for _ in range(3):
                api_json(engine, "GET", "/v1.44/_ping")
            rss.append(rss_kib(engine.proc.pid))
        grown = rss[1] - rss[0]
        # Leaking one buffer per client is about CLIENTS * 60 KiB = 18 MiB.
        assert grown < 6 * 1024, f"berthd grew by {grown} KiB"
    finally:
        for n in names + [extra + "0", extra + "1"]:
            api_json(engine, "DELETE", f"/v1.44/volumes/{n}")
