"""Attacker's checklist, issue 13: idle connections locking clients out.

- Past the connection cap, the connection idle the longest is closed to
  make room: a thousand idle sockets do not keep a new client from
  `_ping`, and do not cut a long-lived stream (events).
- A connection that sends no request for HTTP_IDLE_TIMEOUT_S (30 s) is
  closed; `events` and `wait` streams that see nothing for longer are not.
"""
import resource
import socket
import time


from conftest import ping_seconds, raw_connect

IDLE_TIMEOUT = 30


def open_stream(engine, path):
    s = raw_connect(engine)
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
    return s


def read_until(s, needle, timeout):
    s.settimeout(timeout)
    data = b""
    end = time.monotonic() + timeout
    while needle not in data and time.monotonic() < end:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def is_closed(s):
    s.settimeout(0.5)
    try:
        return s.recv(1) == b""
    except (socket.timeout, BlockingIOError):
        return False
    except OSError:
        return True


def test_many_idle_connections_do_not_lock_out(engine, unique):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 1300
    if soft < want + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE,
                           (min(hard, want + 200), hard))
    events = open_stream(engine, "/v1.44/events")
    assert read_until(events, b"\r\n\r\n", 10).startswith(b"HTTP/1.1 200")
    idle = []
    try:
        for _ in range(want):
            idle.append(raw_connect(engine))
        time.sleep(0.5)
        worst = max(ping_seconds(engine) for _ in range(5))
        assert worst < 2.0, worst
        # The stream opened before the flood is still served.
        name = unique + "ev"
        engine.docker("create", "--name", name, engine.image, "true")
        try:
            got = read_until(events, name.encode(), 10)
            assert name.encode() in got, got[-300:]
        finally:
            engine.docker("rm", "-f", name)
        # The oldest idle ones were closed to make room.
        assert sum(1 for s in idle[:100] if is_closed(s)) > 50
    finally:
        for s in idle:
            s.close()
        events.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_idle_connection_times_out_but_streams_do_not(engine, unique):
    name = unique + "sleeper"
    engine.docker("run", "-d", "--name", name, engine.image, "sleep",
                  str(IDLE_TIMEOUT + 8))
    idle = raw_connect(engine)
    # A connection that sent half a request (slowloris) is idle too.
    half = raw_connect(engine)
    half.sendall(b"GET /_ping HTTP/1.1\r\nHost")
    events = open_stream(engine, "/v1.44/events?filters=%7B%22container%22"
                         "%3A%5B%22" + name + "%22%5D%7D")
    wait = raw_connect(engine)
    wait.sendall(("POST /v1.44/containers/%s/wait HTTP/1.1\r\nHost: x\r\n"
                  "Content-Length: 0\r\n\r\n" % name).encode())
    try:
        assert read_until(events, b"\r\n\r\n", 10).startswith(b"HTTP/1.1 200")
        assert read_until(wait, b"\r\n\r\n", 10).startswith(b"HTTP/1.1 200")
        time.sleep(IDLE_TIMEOUT + 3)
        assert is_closed(idle), "idle connection still open"
        assert is_closed(half), "half-sent request still open"
        # Streams that waited in silence as long still deliver.
        got = read_until(wait, b"StatusCode", 20)
        assert b'"StatusCode":0' in got, got
        got = read_until(events, b'"die"', 10)
        assert b'"die"' in got, got
        assert ping_seconds(engine) < 1.0
    finally:
        for s in (idle, half, events, wait):
            s.close()
        engine.docker("rm", "-f", name)
