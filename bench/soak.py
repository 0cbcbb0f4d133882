#!/usr/bin/env python3
"""Soak berthd: N clients cycling `run -d` / `exec` / `logs` / `rm -f`
against a private daemon, reporting berthd's RSS every K cycles.

A daemon that leaks grows linearly with the cycles; a sound one levels
off after warm-up (allocator pools, the 512-event ring, caches filled).
The report gives RSS at each step and the slope after warm-up, in bytes
per cycle (least squares over the samples after --warmup cycles).

    make bench-soak                        # 8 clients, 6000 cycles
    python3 bench/soak.py --clients 4 --cycles 2000 --every 250
    python3 bench/soak.py --cli berth      # the berth CLI instead of docker
    BERTHD=build-asan/src/daemon/berthd ASAN_OPTIONS=detect_leaks=1 \\
        python3 bench/soak.py --cycles 300  # LeakSanitizer report at exit

The daemon has its own data root, exec root, socket and bridge (name and
subnet unique to the run), all removed at the end; its stderr (with any
LeakSanitizer report) is kept in --log when given.  Writes the table to
stdout and, with --out, a Markdown report.  Run as root.
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BUILD = os.environ.get("BUILD", os.path.join(ROOT, "build"))
DOCKER = shutil.which("docker") or "/usr/local/bin/docker"


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def heap_kb(pid):
    """Anonymous RSS: the heap, without the binary's and libraries' pages."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def malloc_in_use_kb(pid, log):
    """The bytes glibc's malloc has handed out and not had back (live
    objects, no fragmentation, no untouched pages): gdb makes berthd call
    malloc_stats(), which prints to its stderr, the log.  Pauses the
    daemon for a moment; only for the daemon this script started."""
    try:
        r = subprocess.run(["gdb", "-batch", "-nx", "-p", str(pid), "-ex",
                            "call (void) malloc_stats()"],
                           capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if r.returncode != 0:
        return None
    with open(log, errors="replace") as f:
        text = f.read()
    i = text.rfind("Total (incl. mmap):")
    if i < 0:
        return None
    for line in text[i:].splitlines():
        if line.strip().startswith("in use bytes"):
            return int(line.split("=")[1]) // 1024
    return None


def busybox_tar(d):
    """A tar of a minimal busybox rootfs (static busybox + a few links)."""
    root = os.path.join(d, "rootfs")
    os.makedirs(os.path.join(root, "bin"))
    for sub in ("etc", "tmp", "proc", "sys", "dev"):
        os.makedirs(os.path.join(root, sub))
    shutil.copy2("/bin/busybox", os.path.join(root, "bin", "busybox"))
    for a in ("sh", "sleep", "echo", "cat", "true"):
        os.symlink("busybox", os.path.join(root, "bin", a))
    with open(os.path.join(root, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")
    return subprocess.run(["tar", "-C", root, "-c", "."], check=True,
                          capture_output=True).stdout


class Daemon:
    """A private berthd, torn down completely by stop()."""

    def __init__(self, berthd, log=None):
        self.dir = tempfile.mkdtemp(prefix="berth-soak-", dir="/tmp")
        self.sock = os.path.join(self.dir, "engine.sock")
        self.host = "unix://" + self.sock
        tag = int.from_bytes(os.urandom(3), "big")
        self.bridge = "bs%06x0" % tag
        self.bip = "10.%d.%d.1/24" % (200 + tag % 50, (tag >> 8) & 255)
        self.log = log or os.path.join(self.dir, "daemon.log")
        resolv = os.path.join(self.dir, "resolv.conf")
        with open(resolv, "w") as f:
            f.write("nameserver 127.77.255.254\n")
        self.cmd = [berthd, "-H", self.host,
                    "--data-root", os.path.join(self.dir, "data"),
                    "--exec-root", os.path.join(self.dir, "exec"),
                    "--bridge", self.bridge, "--bip", self.bip,
                    "--ip-forward", "false", "--resolv-conf", resolv]
        for opt, rel in (("--shim-binary", "src/shim/berth-shim"),
                         ("--init-binary", "src/init/berth-init")):
            p = os.path.join(os.path.dirname(os.path.dirname(
                os.path.dirname(os.path.abspath(berthd)))), rel)
            if os.access(p, os.X_OK):
                self.cmd += [opt, p]
        self.proc = None
        self.exit_code = None

    def env(self):
        e = dict(os.environ)
        e["DOCKER_HOST"] = self.host
        e["BERTH_HOST"] = self.host
        e.pop("DOCKER_API_VERSION", None)
        return e

    def start(self):
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(self.cmd, stdout=logf, stderr=logf,
                                     start_new_session=True)
        end = time.time() + 30
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"berthd exited with {self.proc.returncode}"
                                   f"; see {self.log}")
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(self.sock)
                s.close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("berthd did not listen in 30 s")

    def stop(self, client):
        """SIGTERM (so a sanitizer build reports at exit), then remove
        everything the run made."""
        if self.proc and self.proc.poll() is None:
            ids = client.run("ps", "-aq", check=False).split()
            if ids:
                client.run("rm", "-f", *ids, check=False)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.exit_code = self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.exit_code = self.proc.wait()
        if self.proc:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
        shims = os.path.join(self.dir, "exec", "shims")
        for cid in os.listdir(shims) if os.path.isdir(shims) else []:
            try:
                with open(os.path.join(shims, cid, "shim.pid")) as f:
                    os.kill(int(f.read().strip()), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        try:
            with open("/proc/self/mountinfo") as f:
                mps = [line.split()[4] for line in f]
            for mp in sorted(mps, key=len, reverse=True):
                if mp.startswith(self.dir + "/"):
                    subprocess.run(["umount", "-l", mp], capture_output=True)
        except OSError:
            pass
        subprocess.run(["ip", "link", "del", self.bridge],
                       capture_output=True)
        subprocess.run(["nft", "delete", "table", "ip",
                        "berth_" + self.bridge], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


class Client:
    def __init__(self, argv0, env):
        self.argv0 = argv0
        self.env = env

    def run(self, *args, check=True, input=None):
        r = subprocess.run([*self.argv0, *args], env=self.env, input=input,
                           capture_output=True, timeout=120)
        if check and r.returncode != 0:
            raise RuntimeError(f"{' '.join(args)}: exit {r.returncode}: "
                               f"{r.stderr.decode(errors='replace').strip()}")
        return r.stdout.decode(errors="replace")


def cycle(client, image, extra=()):
    """One container's life as a CI job sees it."""
    cid = client.run("run", "-d", *extra, image, "sh", "-c",
                     "echo soak-start; exec sleep 300").strip()
    try:
        out = client.run("exec", cid, "echo", "soak-exec")
        if "soak-exec" not in out:
            raise RuntimeError(f"exec in {cid[:12]} printed {out!r}")
        client.run("logs", cid)
    finally:
        client.run("rm", "-f", cid)


def soak(client, pid, image, clients, cycles, every, extra=(), progress=None,
         in_use=lambda: None):
    """Run `cycles` cycles from `clients` threads, in rounds of `every`;
    after each round, with no request in flight, sample berthd's RSS.
    Returns (samples [(cycles, seconds, rss KB, anon KB, malloc in use KB
    or None)], errors)."""
    lock = threading.Lock()
    errors = []
    samples = [(0, 0.0, rss_kb(pid), heap_kb(pid), in_use())]
    if progress:
        progress(samples[0])
    t0 = time.time()
    done = 0
    while done < cycles and len(errors) <= 10:
        left = [min(every, cycles - done)]

        def worker():
            while True:
                with lock:
                    if left[0] <= 0 or len(errors) > 10:
                        return
                    left[0] -= 1
                try:
                    cycle(client, image, extra)
                except Exception as e:  # keep going, report at the end
                    with lock:
                        errors.append(str(e))

        ts = [threading.Thread(target=worker) for _ in range(clients)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        done += min(every, cycles - done)
        # Let the daemon finish what the last exits started (events,
        # shim exits) before reading its memory.
        time.sleep(0.5)
        s = (done, time.time() - t0, rss_kb(pid), heap_kb(pid), in_use())
        samples.append(s)
        if progress:
            progress(s)
    return samples, errors


def slope(points):
    """Least-squares slope of (x, y) points."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    sxy = sum((p[0] - mx) * (p[1] - my) for p in points)
    return sxy / sxx if sxx else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--cycles", type=int, default=6000)
    ap.add_argument("--every", type=int, default=1000,
                    help="sample RSS every this many cycles")
    ap.add_argument("--warmup", type=int, default=None,
                    help="cycles before the slope is measured "
                         "(default: one sampling step)")
    ap.add_argument("--cli", choices=("docker", "berth"), default="docker")
    ap.add_argument("--network", default=None,
                    help="a user network to create and run the "
                         "containers on (exercises the embedded DNS)")
    ap.add_argument("--berthd", default=os.environ.get(
        "BERTHD", os.path.join(BUILD, "src/daemon/berthd")))
    ap.add_argument("--log", default=None, help="keep berthd's stderr here")
    ap.add_argument("--malloc-stats", action="store_true",
                    help="also read malloc's bytes in use at each sample "
                         "(gdb; tells a leak from fragmentation)")
    ap.add_argument("--out", default=None, help="write a Markdown report")
    a = ap.parse_args()
    warmup = a.every if a.warmup is None else a.warmup

    d = Daemon(os.path.abspath(a.berthd), a.log)
    argv0 = [DOCKER] if a.cli == "docker" else [
        os.path.join(BUILD, "src/cli/berth")]
    client = Client(argv0, d.env())
    image = "soak/busybox:latest"
    extra = ()
    try:
        d.start()
        client.run("import", "-", image, input=busybox_tar(d.dir))
        if a.network:
            sub = "10.%d.%d.0/24" % (250 + int(d.bridge[2:8], 16) % 5,
                                     int(d.bridge[2:8], 16) >> 8 & 255)
            client.run("network", "create", "--subnet", sub, a.network)
            extra = ("--network", a.network)
        time.sleep(0.5)
        pid = d.proc.pid
        print(f"berthd {a.berthd} pid {pid}: {a.clients} {a.cli} clients, "
              f"{a.cycles} cycles of run -d/exec/logs/rm -f", flush=True)
        in_use = ((lambda: malloc_in_use_kb(pid, d.log)) if a.malloc_stats
                  else (lambda: None))
        print(f"{'cycles':>8} {'seconds':>8} {'RSS KB':>8} {'anon KB':>8} "
              f"{'B/cycle':>8}" + (f" {'in use KB':>9}" if a.malloc_stats
                                   else ""), flush=True)
        last = [0, rss_kb(pid)]

        def row(s):
            per = (s[2] - last[1]) * 1024 / max(1, s[0] - last[0])
            last[:] = [s[0], s[2]]
            print(f"{s[0]:8d} {s[1]:8.0f} {s[2]:8d} {s[3]:8d} "
                  + (f"{per:8.0f}" if s[0] else f"{'':8}")
                  + (f" {s[4]:9d}" if s[4] is not None else ""), flush=True)

        samples, errors = soak(client, pid, image, a.clients, a.cycles,
                               a.every, extra, row, in_use)
        after = [(s[0], s[2] * 1024) for s in samples if s[0] >= warmup]
        anon = [(s[0], s[3] * 1024) for s in samples if s[0] >= warmup]
        used = [(s[0], s[4] * 1024) for s in samples
                if s[0] >= warmup and s[4] is not None]
        left = client.run("ps", "-aq", check=False).split()
        rate = samples[-1][0] / samples[-1][1] if samples[-1][1] else 0
        summary = (f"after {warmup} warm-up cycles: RSS slope "
                   f"{slope(after):.0f} B/cycle "
                   f"({slope(after) * 1000 / 1024:.0f} KB per 1,000 cycles), "
                   f"RssAnon slope {slope(anon):.0f} B/cycle"
                   + (f", malloc in-use slope {slope(used):.0f} B/cycle"
                      if used else "")
                   + f"; {rate:.1f} cycles/s, {len(errors)} errors, "
                   f"{len(left)} containers left")
        print(summary, flush=True)
        for e in errors[:5]:
            print("error:", e, file=sys.stderr)
        if a.out:
            with open(a.out, "w") as f:
                f.write(f"# berthd soak — {time.strftime('%Y-%m-%d')}\n\n")
                f.write("Command: `" + " ".join(["python3", "bench/soak.py",
                                                 *sys.argv[1:]])
                        + f"`.  Machine: {os.cpu_count()} CPUs, kernel "
                        f"{os.uname().release}.\n\n")
                f.write("| cycles | seconds | RSS KB | RssAnon KB | "
                        "malloc in use KB |\n|---|---|---|---|---|\n")
                for s in samples:
                    f.write(f"| {s[0]} | {s[1]:.0f} | {s[2]} | {s[3]} | "
                            f"{'' if s[4] is None else s[4]} |\n")
                f.write(f"\n{summary}.\n")
        if a.network:
            client.run("network", "rm", a.network, check=False)
        return 1 if errors else 0
    finally:
        d.stop(client)
        if d.exit_code not in (None, 0):
            print(f"berthd exited with status {d.exit_code} on SIGTERM "
                  f"(see {a.log or 'its log'})", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
