"""Hole class: a hostile API client (SECURITY.md, "Daemon API").

The socket is not world-connectable; the HTTP layer survives requests built
to confuse or exhaust it (conflicting framing, huge headers and bodies,
deeply nested JSON, clients that trickle bytes), answers each with an
error, and keeps answering everybody else.
"""
import grp
import json
import os
import socket
import stat
import threading
import time


from conftest import DOCKER, api_json


def connect(engine):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(engine.sock)
    return s


def exchange(engine, raw, read_max=1 << 16):
    s = connect(engine)
    try:
        try:
            s.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass
        out = b""
        try:
            while len(out) < read_max:
                b = s.recv(65536)
                if not b:
                    break
                out += b
                if b"\r\n\r\n" in out and out.startswith(b"HTTP/1.1 4"):
                    break
        except (socket.timeout, ConnectionResetError):
            pass
        return out
    finally:
        s.close()


def ping_time(engine):
    t = time.monotonic()
    out = exchange(engine, b"GET /_ping HTTP/1.1\r\nHost: x\r\n"
                   b"Connection: close\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200"), out[:100]
    return time.monotonic() - t


def status(out):
    return int(out.split(b" ", 2)[1]) if out.startswith(b"HTTP/") else 0


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_socket_is_not_world_connectable(engine):
    st = os.stat(engine.sock)
    assert stat.S_ISSOCK(st.st_mode)
    assert st.st_mode & 0o007 == 0, oct(st.st_mode)
    try:
        gid = grp.getgrnam("berth").gr_gid
    except KeyError:
        gid = None
    if gid is not None:  # the group berth gets rw, nobody else
        assert st.st_gid == gid and st.st_mode & 0o777 == 0o660
    else:  # without that group, root alone
        assert st.st_mode & 0o777 == 0o600, oct(st.st_mode)


def test_conflicting_length_and_chunked_framing_is_refused(engine):
    body = b'{"Image":"x"}'
    raw = (b"POST /containers/create HTTP/1.1\r\nHost: x\r\n"
           b"Content-Type: application/json\r\n"
           b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
           + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
           + b"GET /containers/json HTTP/1.1\r\nHost: x\r\n\r\n")
    out = exchange(engine, raw)
    # Either refused outright or read as one chunked body; never as two
    # requests smuggled in one (the second answer would be a 200 list).
    assert out.count(b"HTTP/1.1 ") <= 1 or status(out) >= 400, out[:300]
    assert ping_time(engine) < 1


def test_huge_headers_are_refused(engine):
    raw = (b"GET /_ping HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20)
           + b"\r\n\r\n")
    out = exchange(engine, raw)
    assert out == b"" or status(out) >= 400, out[:100]
    assert ping_time(engine) < 1


def test_oversized_json_body_is_refused_without_reading_it_all(engine):
    pid = engine.proc.pid
    before = rss_kb(pid)
    s = connect(engine)
    try:
        s.sendall(b"POST /containers/create HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % (1 << 30))
        sent = 0
        chunk = b" " * (1 << 16)
        try:
            while sent < (64 << 20):
                s.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass
    finally:
        s.close()
    assert ping_time(engine) < 1
    # the body limit (16 MiB in memory) holds: no gigabyte was buffered
    assert rss_kb(pid) - before < 48 * 1024


def test_deeply_nested_json_is_an_error(engine):
    body = b"[" * 200000 + b"]" * 200000
    raw = (b"POST /containers/create HTTP/1.1\r\nHost: x\r\n"
           b"Content-Type: application/json\r\nConnection: close\r\n"
           b"Content-Length: %d\r\n\r\n" % len(body) + body)
    out = exchange(engine, raw)
    assert 400 <= status(out) < 500, out[:200]
    assert ping_time(engine) < 1


def test_clients_that_trickle_bytes_do_not_hold_others(engine):
    stop = threading.Event()
    socks = []

    def trickle(s):
        try:
            s.sendall(b"GET /_ping HTTP/1.1\r\n")
            while not stop.is_set():
                s.sendall(b"X")
                stop.wait(0.5)
        except OSError:
            pass

    threads = []
    for _ in range(50):
        s = connect(engine)
        socks.append(s)
        t = threading.Thread(target=trickle, args=(s,), daemon=True)
        t.start()
        threads.append(t)
    try:
        time.sleep(1)
        worst = max(ping_time(engine) for _ in range(20))
        assert worst < 0.5, f"_ping took {worst:.3f}s beside 50 slow clients"
    finally:
        stop.set()
        for s in socks:
            s.close()
        for t in threads:
            t.join(5)


def test_top_does_not_hold_the_loop(engine, unique):
    """`top` runs ps on the host: the daemon keeps answering while it does,
    and ps arguments that make it fail give an error, not a hang."""
    name = unique + "-top"
    engine.docker("run", "-d", "--name", name, engine.image, "sleep", "300")
    try:
        r = engine.docker("top", name)
        assert b"sleep 300" in r.stdout
        r = engine.docker("top", name, "-o", "pid,comm")
        assert b"sleep" in r.stdout and b"PID" in r.stdout
        r = engine.docker("top", name, "--no-such-ps-option", check=False)
        assert r.returncode != 0 and b"ps failed" in r.stderr, r.stderr
        # many top calls in flight, _ping still quick
        import subprocess
        procs = [subprocess.Popen([DOCKER, "top", name], env=engine.env(),
                                  stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
                 for _ in range(10)]
        assert max(ping_time(engine) for _ in range(10)) < 1
        for p in procs:
            assert p.wait(timeout=60) == 0
    finally:
        engine.docker("rm", "-f", name, check=False)


def test_seccomp_option_never_reads_a_daemon_host_file(engine, unique):
    """An API client naming a host path as a seccomp profile gets an error;
    the daemon opens nothing (the docker CLI sends the file's content)."""
    st, body = api_json(engine, "POST",
                        f"/v1.44/containers/create?name={unique}-sc",
                        {"Image": engine.image, "Cmd": ["true"],
                         "HostConfig": {"SecurityOpt": [
                             "seccomp=/etc/shadow"]}})
    if st == 201:
        st2, body2 = api_json(engine, "POST",
                              f"/v1.44/containers/{unique}-sc/start")
        api_json(engine, "DELETE", f"/v1.44/containers/{unique}-sc?force=1")
        st, body = st2, body2
    assert 400 <= st < 500, (st, body)
    assert "profile's JSON" in json.dumps(body)
    assert "root:" not in json.dumps(body)
