"""Attacker's checklist, issue 13: container logs exhausting berthd.

- `logs -f` clients that stop reading, then hang up, must not grow the
  daemon (per-client buffers are bounded, a hung-up client's stream is
  freed) and must not keep it from answering `_ping` or `rm -f`.
- A non-follow `logs` of a big log streams from disk in chunks: `_ping`
  stays quick while it runs.
- json-file logs are capped by default, daemon.json's log-opts apply, and
  a container's own --log-opt wins over them.
"""
import json
import os
import socket
import time

import pytest

from conftest import Engine  # noqa: F401  (re-exported integration fixture)
from conftest import ping_seconds, raw_connect, rss_kib

LINE = "x" * 100


def log_files(engine, name):
    path = engine.docker("inspect", "-f", "{{.LogPath}}", name).stdout
    path = path.decode().strip() if isinstance(path, bytes) else path.strip()
    d, base = os.path.dirname(path), os.path.basename(path)
    return [os.path.join(d, p) for p in os.listdir(d) if p.startswith(base)]


def stalled_follower(engine, cid):
    """A logs -f client that never reads (tiny receive buffer)."""
    s = raw_connect(engine, rcvbuf=4096)
    s.sendall(("GET /v1.44/containers/%s/logs?follow=1&stdout=1&stderr=1 "
               "HTTP/1.1\r\nHost: x\r\n\r\n" % cid).encode())
    return s


def test_stalled_followers_stay_bounded_and_are_freed(engine, unique):
    name = unique + "chatty"
    # Small files: the attack is the stream's rate, not the file's size
    # (and an unfixed daemon then eats gigabytes, not tens of them).
    cid = engine.docker("run", "-d", "--name", name, "--log-opt",
                        "max-size=10m", "--log-opt", "max-file=2", engine.image, "sh", "-c",
                        "yes %s" % LINE).stdout
    cid = (cid.decode() if isinstance(cid, bytes) else cid).strip()
    try:
        time.sleep(1)
        before = rss_kib(engine.proc.pid)
        followers = [stalled_follower(engine, cid) for _ in range(12)]
        # Long enough for an unbounded daemon to buffer hundreds of MB.
        worst_ping = 0.0
        for _ in range(12):
            time.sleep(0.5)
            worst_ping = max(worst_ping, ping_seconds(engine, timeout=3))
        during = rss_kib(engine.proc.pid)
        for s in followers:
            s.close()
        time.sleep(1.5)
        after = rss_kib(engine.proc.pid)
        worst_ping = max(worst_ping, ping_seconds(engine))
        # 12 stalled clients cost at most a few hundred KiB each.
        assert during - before < 32 * 1024, (before, during)
        assert after - before < 32 * 1024, (before, after)
        assert worst_ping < 1.0, worst_ping
    finally:
        t0 = time.monotonic()
        engine.docker("rm", "-f", name, timeout=30)
    assert time.monotonic() - t0 < 10


def test_hung_up_followers_are_freed(engine, unique):
    """Followers that read nothing and hang up: nothing of theirs stays
    (memory nor descriptors), and the daemon answers right after."""
    name = unique + "hangup"
    cid = engine.docker("run", "-d", "--name", name, "--log-opt",
                        "max-size=10m", "--log-opt", "max-file=2",
                        engine.image, "sh", "-c", "yes %s" % LINE).stdout
    cid = (cid.decode() if isinstance(cid, bytes) else cid).strip()
    fd_dir = "/proc/%d/fd" % engine.proc.pid
    try:
        time.sleep(1)
        before, fds_before = rss_kib(engine.proc.pid), len(os.listdir(fd_dir))
        for _ in range(3):
            socks = [stalled_follower(engine, cid) for _ in range(5)]
            time.sleep(2)
            for s in socks:
                s.close()
        time.sleep(2)
        ping = ping_seconds(engine)
        after, fds_after = rss_kib(engine.proc.pid), len(os.listdir(fd_dir))
        assert after - before < 32 * 1024, (before, after)
        assert fds_after <= fds_before + 2, (fds_before, fds_after)
        assert ping < 1.0, ping
    finally:
        engine.docker("rm", "-f", name, timeout=30)


def test_big_log_read_does_not_stall_the_loop(engine, unique):
    name = unique + "big"
    # About 300 MB of json-file log, one file (the cap lifted for it).
    engine.docker("run", "--name", name, "--log-opt", "max-size=1g",
                  engine.image, "sh", "-c",
                  "yes %s | head -c 150000000" % LINE, timeout=120)
    try:
        size = sum(os.path.getsize(p) for p in log_files(engine, name))
        assert size > 250 * 1000 * 1000, size
        cid = engine.docker("inspect", "-f", "{{.Id}}", name).stdout
        cid = (cid.decode() if isinstance(cid, bytes) else cid).strip()
        before = rss_kib(engine.proc.pid)
        # A reader that reads slowly: the daemon must neither hold the
        # file in memory nor read it all in one go on its loop.
        s = raw_connect(engine, rcvbuf=65536)
        s.sendall(("GET /v1.44/containers/%s/logs?stdout=1 HTTP/1.1\r\n"
                   "Host: x\r\n\r\n" % cid).encode())
        s.settimeout(2)
        got = 0
        worst = 0.0
        t_end = time.monotonic() + 4
        while time.monotonic() < t_end:
            try:
                got += len(s.recv(1 << 16))
            except socket.timeout:
                pass
            worst = max(worst, ping_seconds(engine, timeout=3))
        during = rss_kib(engine.proc.pid)
        # And a reader that takes it all gets it all, in order.
        s.close()
        s = raw_connect(engine)
        s.sendall(("GET /v1.44/containers/%s/logs?stdout=1&tail=3 "
                   "HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                   % cid).encode())
        s.settimeout(10)
        data = b""
        while True:
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            data += chunk
        s.close()
        assert worst < 0.5, worst
        assert got > 0
        assert during - before < 64 * 1024, (before, during)
        body = data.split(b"\r\n\r\n", 1)[1]
        assert body.count((LINE + "\n").encode()) >= 2, body[-300:]
    finally:
        engine.docker("rm", "-f", name, timeout=30)


def test_default_log_cap(engine, unique):
    """No --log-opt and no daemon.json: json-file is capped at 5 x 20 MB."""
    name = unique + "cap"
    engine.docker("run", "--name", name, engine.image, "sh", "-c",
                  "yes %s | head -c 200000000" % LINE, timeout=120)
    try:
        files = log_files(engine, name)
        total = sum(os.path.getsize(p) for p in files)
        assert len(files) <= 5, files
        assert total <= 5 * 20 * 1000 * 1000 + 64 * 1024, total
        lc = json.loads(engine.docker("inspect", "-f",
                                      "{{json .HostConfig.LogConfig}}",
                                      name).stdout)
        assert lc == {"Type": "json-file",
                      "Config": {"max-size": "20m", "max-file": "5"}}, lc
    finally:
        engine.docker("rm", "-f", name, timeout=30)


class ConfiguredEngine(Engine):
    """A berthd of its own with a daemon.json."""

    def __init__(self, config):
        super().__init__()
        self.config_file = os.path.join(self.dir, "daemon.json")
        with open(self.config_file, "w") as f:
            json.dump(config, f)

    def berthd_cmd(self, *extra):
        return super().berthd_cmd("--config-file", self.config_file, *extra)


@pytest.fixture(scope="module")
def small_log_engine():
    e = ConfiguredEngine({"log-driver": "json-file",
                          "log-opts": {"max-size": "1m", "max-file": "2"}})
    try:
        e.start()
        e.load_busybox()
        yield e
    finally:
        e.teardown()


def test_daemon_log_opts_apply_and_container_opts_win(small_log_engine,
                                                      unique):
    e = small_log_engine
    a, b = unique + "dflt", unique + "own"
    cmd = ["sh", "-c", "yes %s | head -c 20000000" % LINE]
    e.docker("run", "--name", a, e.image, *cmd, timeout=120)
    e.docker("run", "--name", b, "--log-opt", "max-file=4", e.image, *cmd,
             timeout=120)
    try:
        fa, fb = log_files(e, a), log_files(e, b)
        assert len(fa) == 2 and len(fb) == 4, (fa, fb)
        for p in fa + fb:
            assert os.path.getsize(p) <= 1000 * 1000, p
        lc = json.loads(e.docker("inspect", "-f",
                                 "{{json .HostConfig.LogConfig}}", b).stdout)
        assert lc["Config"] == {"max-size": "1m", "max-file": "4"}, lc
    finally:
        e.docker("rm", "-f", a, b, timeout=30)


def test_bad_daemon_log_opts_are_refused(tmp_path):
    e = ConfiguredEngine({"log-opts": {"max-size": "lots"}})
    try:
        import subprocess
        r = subprocess.run(e.berthd_cmd(), capture_output=True, timeout=30)
        assert r.returncode != 0
        assert b"max-size 'lots'" in r.stderr, r.stderr
    finally:
        e.teardown()
