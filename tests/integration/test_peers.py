"""berth-runtime driven by the engines that use runc: podman, dockerd and
containerd (the io.containerd.runc.v2 shim that Kubernetes nodes use).

Each test starts its peer with private state directories and sockets, runs
a busybox container through berth-runtime and checks what the container
printed.  A test is skipped, with the reason, only when its peer cannot be
installed on this machine.  Everything started is stopped by pid and every
directory is removed, even when the test fails.
"""
import json
import os
import pathlib
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
import io
import hashlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
RUNTIME = os.environ.get("BERTH_RUNTIME",
                         str(REPO / "build/src/runtime/berth-runtime"))


def _need(binary):
    path = shutil.which(binary)
    if not path:
        subprocess.run(["bash", str(REPO / "scripts/deps-peers.sh")],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        path = shutil.which(binary)
    if not path:
        pytest.skip(f"{binary} is not installed and could not be installed")
    return path


@pytest.fixture(scope="module")
def peer_rootfs_tar(tmp_path_factory):
    """A tarball of a busybox root filesystem (Debian's busybox-static)."""
    busybox = "/bin/busybox"
    if not os.path.exists(busybox):
        pytest.skip("busybox-static is not installed")
    d = tmp_path_factory.mktemp("peer-rootfs")
    root = d / "rootfs"
    for sub in ("bin", "etc", "proc", "sys", "dev", "tmp"):
        (root / sub).mkdir(parents=True)
    shutil.copy2(busybox, root / "bin/busybox")
    applets = subprocess.run([busybox, "--list"], capture_output=True,
                             text=True, check=True).stdout.split()
    for a in applets:
        if a != "busybox":
            os.symlink("busybox", root / "bin" / a)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc/group").write_text("root:x:0:\n")
    tar = d / "rootfs.tar"
    subprocess.run(["tar", "-C", str(root), "-cf", str(tar), "."], check=True)
    return tar


def _stop(proc, timeout=20):
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _umount_below(path):
    """Lazily unmount anything a peer left mounted below `path`."""
    path = str(path)
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    for p in sorted(points, key=len, reverse=True):
        if p == path or p.startswith(path + "/"):
            subprocess.run(["umount", "-l", p], stderr=subprocess.DEVNULL)


def _wait_socket(path, proc, what, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        if os.path.exists(path):
            return
        if proc.poll() is not None:
            pytest.fail(f"{what} exited early with status {proc.returncode}")
        time.sleep(0.1)
    pytest.fail(f"{what} did not create {path} within {timeout}s")


def _rm_cgroups(name):
    """Remove cgroup directories named `name` at the hierarchy roots (the
    peer's per-test parent group); leaves are gone with their containers."""
    base = pathlib.Path("/sys/fs/cgroup")
    for h in base.iterdir():
        d = h / name
        if d.is_dir():
            for sub in sorted(d.rglob("*"), key=lambda p: len(str(p)),
                              reverse=True):
                if sub.is_dir():
                    try:
                        sub.rmdir()
                    except OSError:
                        pass
            try:
                d.rmdir()
            except OSError:
                pass


def test_podman_runs_busybox_with_berth_runtime(peer_rootfs_tar):
    podman = _need("podman")
    work = pathlib.Path(tempfile.mkdtemp(prefix="bt-podman-"))
    base = [podman, "--root", str(work / "root"), "--runroot",
            str(work / "run"), "--runtime", RUNTIME, "--cgroup-manager",
            "cgroupfs", "--events-backend", "file", "--tmpdir",
            str(work / "tmp")]
    try:
        r = subprocess.run(base + ["import", str(peer_rootfs_tar),
                                   "berth-test/busybox:peer"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, f"podman import failed: {r.stderr}"
        r = subprocess.run(
            base + ["run", "--rm", "--network", "none", "--hostname",
                    "viaberth", "--ulimit", "nofile=1024:20000", "--ulimit",
                    "nproc=1024:1024", "berth-test/busybox:peer", "sh", "-c",
                    "echo podman-ok $(hostname) $$"],
            capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, (
            f"podman run with berth-runtime failed ({r.returncode}): "
            f"{r.stderr}")
        assert r.stdout.split() == ["podman-ok", "viaberth", "1"], r.stdout
        # Exit codes pass through the runtime and conmon.
        r = subprocess.run(
            base + ["run", "--rm", "--network", "none", "--ulimit",
                    "nofile=1024:20000", "--ulimit", "nproc=1024:1024",
                    "berth-test/busybox:peer", "sh", "-c", "exit 7"],
            capture_output=True, text=True, timeout=120)
        assert r.returncode == 7, r.stderr
    finally:
        subprocess.run(base + ["rm", "-af"], capture_output=True, timeout=60)
        subprocess.run(base + ["system", "reset", "-f"], capture_output=True,
                       timeout=60)
        _umount_below(work)
        shutil.rmtree(work, ignore_errors=True)
        _rm_cgroups("libpod_parent")


def test_dockerd_runs_busybox_with_runtime_berth(peer_rootfs_tar):
    dockerd = _need("dockerd")
    _need("containerd")
    docker = shutil.which("docker") or pytest.skip("no docker CLI")
    work = pathlib.Path(tempfile.mkdtemp(prefix="bd-", dir="/tmp"))
    sock = work / "d.sock"
    log = open(work / "dockerd.log", "w")
    proc = subprocess.Popen(
        [dockerd, "--data-root", str(work / "root"), "--exec-root",
         str(work / "x"), "-H", f"unix://{sock}", "--pidfile",
         str(work / "pid"), "--add-runtime", f"berth={RUNTIME}",
         "--iptables=false", "--ip6tables=false", "--bridge=none",
         "--cgroup-parent", "berthtest-docker"],
        stdout=log, stderr=subprocess.STDOUT)
    env = dict(os.environ, DOCKER_HOST=f"unix://{sock}")
    try:
        _wait_socket(sock, proc, "dockerd")
        for _ in range(100):
            if subprocess.run([docker, "version"], env=env,
                              capture_output=True).returncode == 0:
                break
            time.sleep(0.2)
        r = subprocess.run([docker, "import", str(peer_rootfs_tar),
                            "berth-test/busybox:peer"], env=env,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, f"docker import failed: {r.stderr}"
        r = subprocess.run(
            [docker, "run", "--rm", "--runtime", "berth", "--network",
             "none", "--hostname", "viaberth", "berth-test/busybox:peer",
             "sh", "-c", "echo docker-ok $(hostname) $$"],
            env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, (
            f"docker run --runtime berth failed ({r.returncode}): "
            f"{r.stderr}\n--- dockerd log ---\n"
            f"{(work / 'dockerd.log').read_text()[-3000:]}")
        assert r.stdout.split() == ["docker-ok", "viaberth", "1"], r.stdout
        r = subprocess.run(
            [docker, "run", "--rm", "--runtime", "berth", "--network",
             "none", "berth-test/busybox:peer", "sh", "-c", "exit 5"],
            env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 5, r.stderr
    finally:
        _stop(proc, 30)
        log.close()
        _umount_below(work)
        shutil.rmtree(work, ignore_errors=True)
        _rm_cgroups("berthtest-docker")


def _docker_archive(rootfs_tar, name):
    """An image archive as `docker save` writes it, for `ctr images import`."""
    layer = open(rootfs_tar, "rb").read()
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
                           "/usr/bin:/sbin:/bin"], "Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }).encode()
    cfg_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": cfg_name, "RepoTags": [name],
                            "Layers": ["layer/layer.tar"]}]).encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as t:
        for n, data in ((cfg_name, config), ("layer/layer.tar", layer),
                        ("manifest.json", manifest)):
            info = tarfile.TarInfo(n)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_containerd_runc_v2_shim_runs_berth_runtime(peer_rootfs_tar):
    containerd = _need("containerd")
    ctr = _need("ctr")
    _need("containerd-shim-runc-v2")
    work = pathlib.Path(tempfile.mkdtemp(prefix="bc-", dir="/tmp"))
    sock = work / "c.sock"
    (work / "config.toml").write_text(
        f'version = 2\nroot = "{work}/root"\nstate = "{work}/state"\n'
        f'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
        f'[grpc]\n  address = "{sock}"\n'
        f'[ttrpc]\n  address = "{work}/t.sock"\n'
        f'[debug]\n  address = "{work}/dbg.sock"\n')
    log = open(work / "containerd.log", "w")
    proc = subprocess.Popen([containerd, "--config",
                             str(work / "config.toml")],
                            stdout=log, stderr=subprocess.STDOUT)
    ns = f"berthtest{os.getpid()}"
    base = [ctr, "-a", str(sock), "-n", ns]
    try:
        _wait_socket(sock, proc, "containerd")
        archive = work / "image.tar"
        archive.write_bytes(_docker_archive(peer_rootfs_tar,
                                            "berth-test/busybox:peer"))
        r = subprocess.run(base + ["images", "import", "--no-unpack=false",
                                   str(archive)],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            r = subprocess.run(base + ["images", "import", str(archive)],
                               capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, f"ctr import failed: {r.stderr}"
        image = "docker.io/berth-test/busybox:peer"
        r = subprocess.run(
            base + ["run", "--rm", "--runc-binary", RUNTIME, image, "ctr1",
                    "sh", "-c", "echo ctr-ok $$"],
            capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, (
            f"ctr run --runc-binary failed ({r.returncode}): {r.stderr}\n"
            f"--- containerd log ---\n"
            f"{(work / 'containerd.log').read_text()[-3000:]}")
        assert r.stdout.split() == ["ctr-ok", "1"], r.stdout
    finally:
        subprocess.run(base + ["tasks", "kill", "-s", "SIGKILL", "ctr1"],
                       capture_output=True)
        subprocess.run(base + ["containers", "rm", "ctr1"],
                       capture_output=True)
        _stop(proc, 30)
        log.close()
        _umount_below(work)
        shutil.rmtree(work, ignore_errors=True)
        _rm_cgroups(ns)
        # The runc shim keeps the runtime's --root outside containerd's dirs.
        shutil.rmtree(f"/run/containerd/runc/{ns}", ignore_errors=True)
