"""Shared fixtures for the engine-level integration tests.

`engine` starts a private berthd (or, with BERTH_TEST_ENGINE=dockerd, a
private dockerd 20.10 to compare behaviour against) on its own socket,
data root and exec root, loads a busybox image into it, and tears
everything down at the end: containers, shims (by pid), mounts, dirs.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("BERTH_BUILD", os.path.join(ROOT, "build"))
DOCKER = shutil.which("docker") or "/usr/local/bin/docker"
IMAGE = "berth-test/busybox:latest"


def _path(env, rel):
    return os.environ.get(env) or os.path.join(BUILD, rel)


def make_busybox_rootfs(d):
    """A busybox rootfs (static busybox + applet links + a few /etc files)."""
    os.makedirs(os.path.join(d, "bin"))
    for sub in ("etc", "tmp", "root", "proc", "sys", "dev", "home", "var"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    os.chmod(os.path.join(d, "tmp"), 0o1777)
    shutil.copy2("/bin/busybox", os.path.join(d, "bin", "busybox"))
    applets = subprocess.run(["/bin/busybox", "--list"], capture_output=True,
                             text=True, check=True).stdout.split()
    for a in applets:
        if a != "busybox":
            os.symlink("busybox", os.path.join(d, "bin", a))
    with open(os.path.join(d, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n"
                "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
                "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
                "tester:x:1000:1000:tester:/home:/bin/sh\n")
    with open(os.path.join(d, "etc", "group"), "w") as f:
        f.write("root:x:0:\ndaemon:x:1:\ntester:x:1000:\nextra:x:2000:tester\n"
                "nogroup:x:65534:\n")
    return d


def wait_socket(path, proc, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"daemon exited with {proc.returncode}")
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            s.close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"daemon socket {path} did not appear")


class Engine:
    def __init__(self):
        self.kind = os.environ.get("BERTH_TEST_ENGINE", "berthd")
        self.dir = tempfile.mkdtemp(prefix="berth-it-", dir="/tmp")
        self.sock = os.path.join(self.dir, "engine.sock")
        self.host = "unix://" + self.sock
        self.data_root = os.path.join(self.dir, "data")
        # Containers' DNS settings come from here, not the host's: a
        # resolver on a loopback address where nothing listens, so that no
        # query of a test ever leaves the machine (names a test wants
        # answered come from a server of its own, with --dns).
        self.resolv_conf = os.path.join(self.dir, "resolv.conf")
        with open(self.resolv_conf, "w") as f:
            f.write("nameserver 127.77.255.254\nsearch berth.test\n")
        self.exec_root = os.path.join(self.dir, "exec")
        self.berth = _path("BERTH_CLI", "src/cli/berth")
        self.berthd = _path("BERTHD", "src/daemon/berthd")
        self.shim = _path("BERTH_SHIM", "src/shim/berth-shim")
        self.init = _path("BERTH_INIT", "src/init/berth-init")
        self.image = IMAGE
        self.proc = None
        self.log = os.path.join(self.dir, "daemon.log")
        tag = int.from_bytes(os.urandom(3), "big")
        self.bridge = "bt%06x0" % tag
        self.bip = "10.%d.%d.1/24" % (200 + tag % 50, (tag >> 8) & 255)
        self.tag = tag

    def env(self):
        e = dict(os.environ)
        e["DOCKER_HOST"] = self.host
        e["BERTH_HOST"] = self.host
        e.pop("DOCKER_API_VERSION", None)
        return e

    def start(self):
        logf = open(self.log, "ab")
        if self.kind == "dockerd":
            cmd = ["dockerd", "--data-root", self.data_root,
                   "--exec-root", self.exec_root, "-H", self.host,
                   "--pidfile", os.path.join(self.dir, "pid"),
                   "--bridge", "none", "--iptables=false",
                   "--ip-masq=false"]
        else:
            cmd = self.berthd_cmd()
        self.proc = subprocess.Popen(cmd, stdout=logf, stderr=logf,
                                     start_new_session=True)
        wait_socket(self.sock, self.proc)

    def berthd_cmd(self, *extra):
        """berthd with this engine's own state, and a bridge network of
        its own (name and subnet unique to it, removed at teardown; no
        change to the host's IP forwarding)."""
        cmd = [self.berthd, "--data-root", self.data_root,
               "--exec-root", self.exec_root, "-H", self.host,
               "--shim-binary", self.shim, "--init-binary", self.init,
               "--bridge", self.bridge, "--bip", self.bip,
               "--ip-forward", "false", "--resolv-conf", self.resolv_conf,
               *extra]
        wrap = os.environ.get("BERTHD_WRAPPER")
        return wrap.split() + cmd if wrap else cmd

    def restart_daemon(self, sig=signal.SIGTERM):
        self.stop_daemon(sig=sig)
        self.start()

    def subnet(self, k):
        """A /24 for this engine's k-th user network (10.250-254.x: apart
        from every engine's default bridge)."""
        return "10.%d.%d.0/24" % (250 + self.tag % 5,
                                  ((self.tag >> 8) + k) & 255)

    def stop_daemon(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def docker(self, *args, check=True, input=None, timeout=60):
        r = subprocess.run([DOCKER, *args], env=self.env(), input=input,
                           capture_output=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(
                f"docker {' '.join(args)} failed ({r.returncode}): "
                f"{r.stderr.decode(errors='replace')}")
        return r

    def cli(self, *args, check=True, input=None, timeout=60):
        r = subprocess.run([self.berth, *args], env=self.env(), input=input,
                           capture_output=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(
                f"berth {' '.join(args)} failed ({r.returncode}): "
                f"{r.stderr.decode(errors='replace')}")
        return r

    def load_busybox(self):
        rootfs = make_busybox_rootfs(os.path.join(self.dir, "rootfs"))
        tar = subprocess.run(["tar", "-C", rootfs, "-c", "."],
                             capture_output=True, check=True).stdout
        self.docker("import", "-c", 'CMD ["sh"]', "-", self.image, input=tar)

    def shim_pids(self):
        pids = []
        base = os.path.join(self.exec_root, "shims")
        if os.path.isdir(base):
            for cid in os.listdir(base):
                try:
                    with open(os.path.join(base, cid, "shim.pid")) as f:
                        pids.append(int(f.read().strip()))
                except (OSError, ValueError):
                    pass
        return pids

    def teardown(self):
        try:
            if self.proc and self.proc.poll() is None:
                ids = self.docker("ps", "-aq", check=False,
                                  timeout=30).stdout.decode().split()
                if ids:
                    self.docker("rm", "-f", *ids, check=False, timeout=60)
        except Exception:
            pass
        self.stop_daemon()
        # The daemon's own workers (pulls, pushes, archive jobs) share its
        # process group: none may outlive the test session.
        if self.proc:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
        for pid in self.shim_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        # Unmount whatever is left under our own directories, deepest first.
        try:
            with open("/proc/self/mountinfo") as f:
                mps = [l.split()[4] for l in f]
            for mp in sorted(mps, key=len, reverse=True):
                if mp.startswith(self.dir + "/"):
                    subprocess.run(["umount", "-l", mp], capture_output=True)
        except OSError:
            pass
        if self.kind == "berthd":
            # The bridge network this engine made: its bridge and its
            # nftables table (veths went with their containers).
            subprocess.run(["ip", "link", "del", self.bridge],
                           capture_output=True)
            # And the bridges of the user networks its tests made.
            nets = os.path.join(self.data_root, "network", "networks")
            for f in os.listdir(nets) if os.path.isdir(nets) else []:
                try:
                    with open(os.path.join(nets, f)) as fh:
                        br = json.load(fh)["Bridge"]
                except (OSError, ValueError, KeyError):
                    continue
                subprocess.run(["ip", "link", "del", br],
                               capture_output=True)
            for family in ("ip", "bridge"):
                subprocess.run(["nft", "delete", "table", family,
                                "berth_" + self.bridge], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def engine():
    e = Engine()
    try:
        e.start()
        e.load_busybox()
        yield e
    finally:
        e.teardown()


@pytest.fixture
def unique():
    """A name prefix unique to one test."""
    return "bt%x" % (int(time.time() * 1000) & 0xffffffff)


def api_json(engine, method, path, body=None):
    """A raw request to the daemon's API; returns (status, parsed body)."""
    import http.client

    class Conn(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(engine.sock)

    c = Conn("localhost", timeout=30)
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data else {}
    c.request(method, path, body=data, headers=headers)
    r = c.getresponse()
    raw = r.read()
    c.close()
    try:
        return r.status, json.loads(raw) if raw else None
    except ValueError:
        return r.status, raw
