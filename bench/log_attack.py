#!/usr/bin/env python3
"""Issue 13's attacks at once, measured: `_ping` latency (p50/p99/max)
while 20 stalled `logs -f` clients follow a chatty container, one client
reads a ~1 GB log and a big `docker load` runs, and berthd's RSS before,
during and after.

Starts a private berthd like the integration tests do (BERTH_BUILD picks
the build; default ./build) and tears it down.  Run as root:

    python3 bench/log_attack.py [--followers 20] [--log-mb 1000]
                                [--load-mb 1000]
"""
import argparse
import hashlib
import importlib.util
import io
import json
import os
import socket
import subprocess
import tarfile
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "integration_conftest",
    os.path.join(HERE, "..", "tests", "integration", "conftest.py"))
conftest = importlib.util.module_from_spec(spec)
spec.loader.exec_module(conftest)

LINE = "x" * 100


def connect(engine, rcvbuf=None):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(engine.sock)
    return s


def ping(engine, timeout=10):
    t0 = time.monotonic()
    try:
        s = connect(engine)
        s.settimeout(timeout)
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            c = s.recv(4096)
            if not c:
                break
            data += c
        s.close()
    except OSError:
        return float("inf")
    return time.monotonic() - t0


def rss_mb(engine):
    with open("/proc/%d/status" % engine.proc.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return -1


def make_load_archive(path, mb):
    """A docker-save archive of one image whose only layer holds `mb` MB of
    random bytes (incompressible: the load really writes that much)."""
    with tempfile.TemporaryDirectory(dir="/var/tmp") as d:
        blob = os.path.join(d, "blob")
        with open(blob, "wb") as f:
            for _ in range(mb):
                f.write(os.urandom(1 << 20))
        layer = os.path.join(d, "layer.tar")
        with tarfile.open(layer, "w") as t:
            t.add(blob, arcname="big.bin")
        h = hashlib.sha256()
        with open(layer, "rb") as f:
            for c in iter(lambda: f.read(1 << 20), b""):
                h.update(c)
        cfg = json.dumps({"architecture": "amd64", "os": "linux",
                          "config": {"Cmd": ["sh"]},
                          "rootfs": {"type": "layers",
                                     "diff_ids": ["sha256:" + h.hexdigest()]}
                          }).encode()
        man = json.dumps([{"Config": "config.json",
                           "RepoTags": ["bench/bigload:1"],
                           "Layers": ["layer.tar"]}]).encode()
        with tarfile.open(path, "w") as t:
            for name, data in (("config.json", cfg), ("manifest.json", man)):
                ti = tarfile.TarInfo(name)
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            t.add(layer, arcname="layer.tar")


def cid_of(engine, name):
    return engine.docker("inspect", "-f", "{{.Id}}", name).stdout.decode().strip()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--followers", type=int, default=20)
    ap.add_argument("--log-mb", type=int, default=1000)
    ap.add_argument("--load-mb", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=15)
    a = ap.parse_args()
    e = conftest.Engine()
    archive = None
    try:
        if a.load_mb:
            archive = tempfile.mktemp(prefix="berth-bench-load-",
                                      suffix=".tar", dir="/var/tmp")
            make_load_archive(archive, a.load_mb)
        e.start()
        e.load_busybox()
        # A ~log_mb MB json-file log (json adds ~60% to 101-byte lines).
        raw = int(a.log_mb * 1000 * 1000 / 1.63)
        t0 = time.monotonic()
        e.docker("run", "--name", "big", "--log-opt", "max-size=4g",
                 e.image, "sh", "-c", "yes %s | head -c %d" % (LINE, raw),
                 timeout=600)
        path = e.docker("inspect", "-f", "{{.LogPath}}", "big").stdout
        size = os.path.getsize(path.decode().strip())
        print("big log: %.0f MB written in %.1f s" %
              (size / 1e6, time.monotonic() - t0))
        e.docker("run", "-d", "--name", "chatty", e.image, "sh", "-c",
                 "yes %s" % LINE)
        time.sleep(1)
        base = [ping(e) for _ in range(50)]
        rss0 = rss_mb(e)
        chatty, big = cid_of(e, "chatty"), cid_of(e, "big")
        stalled = []
        for _ in range(a.followers):
            s = connect(e, rcvbuf=4096)
            s.sendall(("GET /v1.44/containers/%s/logs?follow=1&stdout=1"
                       " HTTP/1.1\r\nHost: x\r\n\r\n" % chatty).encode())
            stalled.append(s)
        got = [0]
        done = threading.Event()

        def read_big():
            s = connect(e)
            s.sendall(("GET /v1.44/containers/%s/logs?stdout=1 HTTP/1.1\r\n"
                       "Host: x\r\nConnection: close\r\n\r\n" % big).encode())
            s.settimeout(5)
            try:
                while not done.is_set():
                    c = s.recv(1 << 20)
                    if not c:
                        break
                    got[0] += len(c)
            except OSError:
                pass
            s.close()

        t = threading.Thread(target=read_big)
        t.start()
        load = None
        if archive:
            load = subprocess.Popen(
                [conftest.DOCKER, "load", "-q", "-i", archive], env=e.env(),
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        lat, rss_max = [], rss0
        end = time.monotonic() + a.seconds
        while time.monotonic() < end:
            lat.append(ping(e, timeout=5))
            rss_max = max(rss_max, rss_mb(e))
            time.sleep(0.02)
        done.set()
        t.join()
        load_note = ""
        if load:
            t0 = time.monotonic()
            out = load.communicate(timeout=600)[0].decode().strip()
            load_note = "load of %d MB: %s (ended %.1f s after the window)" % (
                a.load_mb, out or "rc %d" % load.returncode,
                time.monotonic() - t0)
        for s in stalled:
            s.close()
        time.sleep(2)
        rss1 = rss_mb(e)
        after = [ping(e) for _ in range(50)]
        ms = 1000.0
        print("ping idle:   p50 %.2f ms  p99 %.2f ms" %
              (pct(base, 50) * ms, pct(base, 99) * ms))
        print("ping attack: p50 %.2f ms  p99 %.2f ms  max %.2f ms  (%d pings,"
              " %d > 1 s)" % (pct(lat, 50) * ms, pct(lat, 99) * ms,
                              max(lat) * ms, len(lat),
                              sum(1 for x in lat if x > 1)))
        print("ping after:  p50 %.2f ms  p99 %.2f ms" %
              (pct(after, 50) * ms, pct(after, 99) * ms))
        print("big log read: %.0f MB in %.0f s" % (got[0] / 1e6, a.seconds))
        if load_note:
            print(load_note)
        print("berthd RSS: before %.1f MB, max during %.1f MB, after hang-up"
              " %.1f MB" % (rss0, rss_max, rss1))
        t0 = time.monotonic()
        e.docker("rm", "-f", "chatty", "big", timeout=120)
        print("rm -f: %.2f s" % (time.monotonic() - t0))
    finally:
        e.teardown()
        if archive and os.path.exists(archive):
            os.unlink(archive)


if __name__ == "__main__":
    main()
