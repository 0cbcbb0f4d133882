"""Hole: exec reaches the host through descriptors of the shim or of
`berth-runtime exec` (CVE-2024-21626 reached through exec, and the
CVE-2019-5736 overwrite that follows from running a host binary).

An image's PATH, an exec path or an exec -w that walks through
/proc/self/fd/N would name a host directory the exec path still held
open.  For every descriptor number the shim and the runtime may hold, each
of the three must be refused: no host binary runs, nothing is created on
the host.  Defence: src/runtime/exec.c closes every inherited descriptor
before joining the container; src/runtime/init.c resolves cwd and program
inside the root with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS.
"""
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import PROBE  # noqa: E402 (tests/security/conftest.py)

CLIMB = "/.." * 16


@pytest.fixture
def host_secret():
    """A host-only static program (the probe under a name of its own) in a
    host directory of the test's own, which no container has."""
    if not os.path.exists(PROBE):
        pytest.skip("berth-probe is not built")
    d = tempfile.mkdtemp(prefix="berth-sec-exec-", dir="/tmp")
    name = "hostonly%d" % os.getpid()
    shutil.copy2(PROBE, os.path.join(d, name))
    yield d, name
    shutil.rmtree(d, ignore_errors=True)


def escapes(fd, d):
    return f"/proc/self/fd/{fd}{CLIMB}{d}"


def ran_host_binary(r):
    return r.returncode == 0 or b'"uid"' in r.stdout


def shim_fd_numbers(engine, cid):
    with open(os.path.join(engine.exec_root, "shims", cid, "shim.pid")) as f:
        pid = int(f.read().strip())
    return sorted(int(n) for n in os.listdir(f"/proc/{pid}/fd"))


def fd_range(engine, cid):
    # Every descriptor the shim holds now, and a margin for the ones it
    # opens while it serves an exec (sockets, pipes, the pid file).
    return range(3, max(shim_fd_numbers(engine, cid)) + 12)


def hostile_image(engine, tag, path):
    """The test busybox image with an image PATH of the attacker's."""
    rootfs = os.path.join(engine.dir, "rootfs")
    buf = subprocess.run(["tar", "-C", rootfs, "-c", "."],
                         capture_output=True, check=True).stdout
    engine.docker("import", "-c", f"ENV PATH={path}", "-c", 'CMD ["sh"]',
                  "-", tag, input=buf)


def test_exec_path_through_proc_self_fd_runs_nothing_of_the_host(
        engine, unique, host_secret):
    d, name = host_secret
    cid = engine.docker("run", "-d", "--name", unique, engine.image,
                        "sleep", "300").stdout.decode().strip()
    try:
        for fd in fd_range(engine, cid):
            r = engine.docker("exec", unique, f"{escapes(fd, d)}/{name}",
                              check=False)
            assert not ran_host_binary(r), (
                f"exec through /proc/self/fd/{fd} ran a host binary: "
                f"{r.stdout[:200]!r}")
    finally:
        engine.docker("rm", "-f", unique, check=False)


def test_image_path_through_proc_self_fd_runs_nothing_of_the_host(
        engine, unique, host_secret):
    d, name = host_secret
    entries = [escapes(fd, d) for fd in range(3, 64)]
    tag = f"{unique}-evilpath:latest"
    hostile_image(engine, tag, ":".join(entries + ["/bin"]))
    try:
        # run: the first process looks its program up in the image PATH
        r = engine.docker("run", "--rm", tag, name, check=False)
        assert not ran_host_binary(r), r.stdout[:200]
        # exec: the same PATH, looked up by the shim's exec path
        engine.docker("run", "-d", "--name", unique, tag, "sleep", "300")
        r = engine.docker("exec", unique, name, check=False)
        assert not ran_host_binary(r), r.stdout[:200]
        said = r.stdout + r.stderr
        assert b"not found" in said or b"refused" in said, said
        # the container's own programs are still found through that PATH
        r = engine.docker("exec", unique, "echo", "still-works")
        assert r.stdout.strip() == b"still-works"
    finally:
        engine.docker("rm", "-f", unique, check=False)
        engine.docker("rmi", tag, check=False)


def test_exec_workdir_through_proc_self_fd_creates_nothing_on_the_host(
        engine, unique, host_secret):
    d, _ = host_secret
    engine.docker("run", "-d", "--name", unique, engine.image, "sleep", "300")
    cid = engine.docker("inspect", "-f", "{{.Id}}",
                        unique).stdout.decode().strip()
    try:
        for fd in fd_range(engine, cid):
            made = f"made{fd}"
            r = engine.docker("exec", "-w", f"{escapes(fd, d)}/{made}",
                              unique, "true", check=False)
            assert not os.path.exists(os.path.join(d, made)), (
                f"exec -w through /proc/self/fd/{fd} created a host directory")
            assert r.returncode != 0
        # an ordinary missing -w is still made, inside the container
        engine.docker("exec", "-w", "/tmp/new/dir", unique, "true")
        r = engine.docker("exec", unique, "ls", "-d", "/tmp/new/dir")
        assert r.returncode == 0
    finally:
        engine.docker("rm", "-f", unique, check=False)


def test_runtime_exec_refuses_paths_through_its_descriptors(rt, host_secret):
    """berth-runtime exec, as podman and containerd call it."""
    d, name = host_secret
    b, cfg = rt.bundle(["sleep", "300"])
    cid = rt.new_id()
    rt.cmd("run", "-d", "-b", str(b), cid, check=True)
    for fd in range(3, 64):
        r = rt.cmd("exec", cid, f"{escapes(fd, d)}/{name}")
        assert r.returncode != 0 and '"uid"' not in r.stdout, (
            f"berth-runtime exec through fd {fd} ran a host binary")
        r = rt.cmd("exec", "--cwd", f"{escapes(fd, d)}/made{fd}", cid, "true")
        assert not os.path.exists(os.path.join(d, f"made{fd}"))
        assert r.returncode != 0
    entries = ":".join(escapes(fd, d) for fd in range(3, 64))
    r = rt.cmd("exec", "--env", f"PATH={entries}:/bin", cid, name)
    assert r.returncode != 0 and '"uid"' not in r.stdout
    r = rt.cmd("exec", "--env", f"PATH={entries}:/bin", cid, "echo", "ok")
    assert r.stdout.strip() == "ok"
