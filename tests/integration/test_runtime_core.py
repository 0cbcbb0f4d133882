"""berth-runtime driven as containerd, podman or a person would: bundles on
disk, the runc command line, and checks of what the container really saw
(through busybox inside it) and what the host has left afterwards.

Every test gets its own --root state directory and container ids of its
own; teardown force-deletes every container it made and checks that no
cgroup directory of those ids is left behind.
"""
import json
import os
import pathlib
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
RUNTIME = os.environ.get("BERTH_RUNTIME",
                         str(REPO / "build/src/runtime/berth-runtime"))
PROBE = os.environ.get("BERTH_PROBE", str(REPO / "build/tests/berth-probe"))
CGROUP_ROOT = pathlib.Path("/sys/fs/cgroup")
# A pure cgroup v2 host (no v1 controller hierarchies): limits live in one
# directory per group, under other file names.
PURE_V2 = (CGROUP_ROOT / "cgroup.controllers").exists()


def cg_inside(ctrl, v1_file, v2_file):
    """A limit file as the container sees it under /sys/fs/cgroup."""
    return (f"/sys/fs/cgroup/{v2_file}" if PURE_V2
            else f"/sys/fs/cgroup/{ctrl}/{v1_file}")


def cg_host_dir(ctrl, cid):
    """The container's group directory on the host, for controller
    `ctrl` (one directory for all of them on pure v2)."""
    return (CGROUP_ROOT / "berth" / cid if PURE_V2
            else CGROUP_ROOT / ctrl / "berth" / cid)


def _berth_parents():
    return list(CGROUP_ROOT.glob("*/berth")) + (
        [CGROUP_ROOT / "berth"] if (CGROUP_ROOT / "berth").is_dir() else [])


@pytest.fixture(scope="session")
def busybox_rootfs(tmp_path_factory):
    if not os.path.exists("/bin/busybox"):
        pytest.skip("busybox-static is not installed")
    root = tmp_path_factory.mktemp("core-rootfs") / "rootfs"
    for sub in ("bin", "etc", "proc", "sys", "dev", "tmp", "data"):
        (root / sub).mkdir(parents=True)
    shutil.copy2("/bin/busybox", root / "bin/busybox")
    for a in subprocess.run(["/bin/busybox", "--list"], capture_output=True,
                            text=True, check=True).stdout.split():
        if a != "busybox":
            os.symlink("busybox", root / "bin" / a)
    (root / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/tmp:/bin/sh\n")
    (root / "etc/group").write_text("root:x:0:\napp:x:1000:\n")
    if os.path.exists(PROBE):
        shutil.copy2(PROBE, root / "bin/berth-probe")
    return root


class Runtime:
    """One test's view of berth-runtime: its state root and its ids."""

    def __init__(self, base, rootfs):
        self.base = base
        self.root = base / "state"
        self.rootfs = rootfs
        self.ids = []
        self.n = 0

    def new_id(self):
        self.n += 1
        cid = f"bt{os.getpid()}-{self.n}-{int(time.time()*1000) % 100000}"
        self.ids.append(cid)
        return cid

    def cmd(self, *args, check=False, timeout=60, **kw):
        # The container inherits the runtime's stdio (as with runc): after
        # `create` or `run -d` it keeps pipes open, so output goes through
        # files, not pipes we would wait on forever.
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            p = subprocess.run([RUNTIME, "--root", str(self.root), *args],
                               stdout=out, stderr=err, timeout=timeout,
                               text=True, **kw)
            out.seek(0)
            err.seek(0)
            r = subprocess.CompletedProcess(p.args, p.returncode,
                                            out.read().decode(),
                                            err.read().decode())
        if check:
            assert r.returncode == 0, (
                f"berth-runtime {' '.join(args)} failed ({r.returncode}): "
                f"{r.stderr}")
        return r

    def bundle(self, args, **changes):
        """A fresh bundle whose config is runc's default spec with `args`."""
        b = pathlib.Path(tempfile.mkdtemp(dir=self.base, prefix="bundle-"))
        subprocess.run([RUNTIME, "spec", "--bundle", str(b)], check=True)
        cfg = json.loads((b / "config.json").read_text())
        cfg["root"] = {"path": str(self.rootfs), "readonly": True}
        cfg["process"]["terminal"] = False
        cfg["process"]["args"] = args
        for k, v in changes.items():
            cfg[k] = v
        (b / "config.json").write_text(json.dumps(cfg))
        return b, cfg

    def write(self, bundle, cfg):
        (bundle / "config.json").write_text(json.dumps(cfg))

    def run(self, args, **changes):
        b, cfg = self.bundle(args, **changes)
        cid = self.new_id()
        return self.cmd("run", "-b", str(b), cid), cid

    def state(self, cid):
        r = self.cmd("state", cid)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)


@pytest.fixture(scope="session", autouse=True)
def _berth_cgroup_parent():
    """berth keeps its top-level "berth" group between containers (as
    Docker keeps "docker"); when this session made it, remove it after."""
    existed = {str(p) for p in _berth_parents()}
    yield
    for p in _berth_parents():
        if str(p) not in existed:
            try:
                p.rmdir()
            except OSError:
                pass  # still in use by some container: not ours to force


def _cgroup_dirs(cid):
    return [str(p) for p in CGROUP_ROOT.glob(f"*/berth/{cid}")] + [
        str(p) for p in CGROUP_ROOT.glob(f"berth/{cid}")]


@pytest.fixture
def rt(tmp_path, busybox_rootfs):
    r = Runtime(tmp_path, busybox_rootfs)
    yield r
    for cid in r.ids:
        subprocess.run([RUNTIME, "--root", str(r.root), "delete", "--force",
                        cid], capture_output=True, timeout=30)
    left = [d for cid in r.ids for d in _cgroup_dirs(cid)]
    for d in left:  # only groups named after this test's own ids
        try:
            os.rmdir(d)
        except OSError:
            pass
    assert not left, f"cgroups left behind: {left}"


def test_run_passes_exit_code_and_output(rt):
    r, _ = rt.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert r.returncode == 3, r.stderr
    assert r.stdout == "out\n"
    assert "err" in r.stderr


def test_lifecycle_create_start_state_kill_delete(rt):
    b, _ = rt.bundle(["sleep", "60"])
    cid = rt.new_id()
    rt.cmd("create", "--bundle", str(b), cid, check=True)
    st = rt.state(cid)
    assert st["status"] == "created" and st["pid"] > 0, st
    assert st["id"] == cid and st["bundle"] == str(b)
    assert st["ociVersion"]
    # the process waits before the user program: its cmdline is still ours
    assert "sleep" not in pathlib.Path(f"/proc/{st['pid']}/cmdline").read_text()
    rt.cmd("start", cid, check=True)
    assert rt.state(cid)["status"] == "running"
    r = rt.cmd("delete", cid)
    assert r.returncode != 0 and "running" in r.stderr, r.stderr
    lst = json.loads(rt.cmd("list", "--format", "json", check=True).stdout)
    assert [c["id"] for c in lst] == [cid]
    rt.cmd("kill", cid, "KILL", check=True)
    for _ in range(50):
        if rt.state(cid)["status"] == "stopped":
            break
        time.sleep(0.05)
    assert rt.state(cid)["status"] == "stopped"
    rt.cmd("delete", cid, check=True)
    assert not (rt.root / cid).exists()
    assert _cgroup_dirs(cid) == []
    r = rt.cmd("state", cid)
    assert r.returncode != 0 and "does not exist" in r.stderr


def test_start_twice_and_duplicate_id_fail(rt):
    b, _ = rt.bundle(["sleep", "30"])
    cid = rt.new_id()
    rt.cmd("create", "-b", str(b), cid, check=True)
    r = rt.cmd("create", "-b", str(b), cid)
    assert r.returncode != 0 and "already exists" in r.stderr
    rt.cmd("start", cid, check=True)
    r = rt.cmd("start", cid)
    assert r.returncode != 0 and "not created" in r.stderr


def test_hostname_env_cwd_user(rt):
    b, cfg = rt.bundle(["sh", "-c", "hostname; id -u; id -g; id -G; pwd; "
                        "echo $GREETING; umask"])
    cfg["hostname"] = "boxy"
    cfg["process"]["env"].append("GREETING=hi")
    cfg["process"]["cwd"] = "/tmp"
    cfg["process"]["user"] = {"uid": 1000, "gid": 1000,
                              "additionalGids": [5, 7], "umask": 0o027}
    rt.write(b, cfg)
    r = rt.cmd("run", "-b", str(b), rt.new_id(), check=True)
    assert r.stdout.split() == ["boxy", "1000", "1000", "1000", "5", "7",
                                "/tmp", "hi", "0027"], r.stdout


def _status_caps(text):
    return {l.split(":")[0]: int(l.split()[1], 16)
            for l in text.splitlines() if l.startswith("Cap")}


def test_probe_reports_what_the_container_sees(rt):
    """The static probe, run as the container's process, reports ids,
    capabilities, limits and descriptors from the inside."""
    if not (rt.rootfs / "bin/berth-probe").exists():
        pytest.skip("berth-probe was not built")
    b, cfg = rt.bundle(["berth-probe"])
    cfg["hostname"] = "probed"
    cfg["process"]["user"] = {"uid": 1000, "gid": 1000,
                              "additionalGids": [10]}
    cfg["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 100,
                                  "hard": 200}]
    cfg["linux"]["resources"] = {"pids": {"limit": 42}}
    rt.write(b, cfg)
    r = rt.cmd("run", "-b", str(b), rt.new_id(), check=True)
    seen = json.loads(r.stdout)
    assert (seen["uid"], seen["gid"], seen["groups"]) == (1000, 1000, [10])
    assert seen["hostname"] == "probed" and seen["pid"] == 1
    assert seen["rlimits"]["NOFILE"] == [100, 200]
    assert int(seen["CapInh"], 16) == 0 and int(seen["CapAmb"], 16) == 0
    assert seen["NoNewPrivs"] == "1"
    assert sorted(seen["fds"]) == ["0", "1", "2"], seen["fds"]
    assert seen["cgroup"][cg_inside("pids", "pids.max", "pids.max")] == "42"
    targets = {m["target"]: m for m in seen["mounts"]}
    assert targets["/proc"]["type"] == "proc"
    assert "ro" in targets["/sys"]["options"].split(",")


def test_capabilities_exact_and_no_inheritable_or_ambient(rt):
    r, _ = rt.run(["cat", "/proc/self/status"])
    assert r.returncode == 0, r.stderr
    caps = _status_caps(r.stdout)
    want = (1 << 5) | (1 << 10) | (1 << 29)  # KILL, NET_BIND_SERVICE, AUDIT_WRITE
    assert caps["CapBnd"] == want and caps["CapEff"] == want
    assert caps["CapPrm"] == want
    assert caps["CapInh"] == 0 and caps["CapAmb"] == 0
    assert "NoNewPrivs:\t1" in r.stdout


def test_rlimits_and_rlimit_above_hard_limit_is_a_clear_error(rt):
    b, cfg = rt.bundle(["sh", "-c", "ulimit -n; ulimit -Hn"])
    cfg["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 512,
                                  "hard": 1000}]
    rt.write(b, cfg)
    r = rt.cmd("run", "-b", str(b), rt.new_id(), check=True)
    assert r.stdout.split() == ["512", "1000"]
    # Above our own hard limit: only with CAP_SYS_RESOURCE (which this
    # project's machines lack, and most hosts' root has).
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    want = min(hard * 2, 1048576)  # fs.nr_open's default bounds it
    if want <= hard:
        return  # nothing above our own hard limit can be asked for
    cfg["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE",
                                  "soft": want, "hard": want}]
    rt.write(b, cfg)
    cid = rt.new_id()
    r = rt.cmd("run", "-b", str(b), cid)
    with open("/proc/self/status") as f:
        capeff = int(next(l for l in f if l.startswith("CapEff:")).split()[1],
                     16)
    if capeff & (1 << 24):  # CAP_SYS_RESOURCE
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == [str(want), str(want)]
        return
    assert r.returncode != 0
    assert "RLIMIT_NOFILE" in r.stderr and "CAP_SYS_RESOURCE" in r.stderr
    assert not (rt.root / cid).exists() and _cgroup_dirs(cid) == []


def test_readonly_root_masked_and_readonly_paths(rt):
    r, _ = rt.run(["sh", "-c",
                   "exec 2>&1; touch /x; wc -c </proc/timer_list; cat /proc/keys | wc -c;"
                   " echo 1 > /proc/sys/kernel/ns_last_pid; ls /proc/acpi |"
                   " wc -l"])
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "Read-only file system" in out.splitlines()[0]
    lines = out.splitlines()
    assert lines[1].strip() == "0"  # /proc/timer_list masked by /dev/null
    assert lines[2].strip() == "0"  # /proc/keys masked
    assert "Read-only file system" in lines[3]
    assert lines[4].strip() == "0"  # /proc/acpi is an empty tmpfs


def test_mounts_tmpfs_and_bind(rt, tmp_path):
    host = tmp_path / "shared"
    host.mkdir()
    (host / "in.txt").write_text("from host\n")
    ro = tmp_path / "ro"
    ro.mkdir()
    b, cfg = rt.bundle(["sh", "-c",
                        "cat /data/in.txt; echo from-ctr > /data/out.txt; "
                        "touch /ro/x 2>&1; df -k /scratch | tail -1"])
    cfg["mounts"] += [
        {"destination": "/data", "type": "bind", "source": str(host),
         "options": ["rbind", "rw"]},
        {"destination": "/ro", "type": "bind", "source": str(ro),
         "options": ["bind", "ro"]},
        {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
         "options": ["size=2m"]},
    ]
    rt.write(b, cfg)
    r = rt.cmd("run", "-b", str(b), rt.new_id(), check=True)
    lines = r.stdout.splitlines()
    assert lines[0] == "from host"
    assert "Read-only file system" in lines[1]
    assert lines[2].split()[1] == "2048", lines[2]
    assert (host / "out.txt").read_text() == "from-ctr\n"
    assert not (ro / "x").exists()


def test_namespaces_pid_uts_net(rt):
    r, _ = rt.run(["sh", "-c", "echo $$; ls /sys/class/net"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1", "lo"]


def test_join_network_namespace_by_path(rt):
    holder = subprocess.Popen(["unshare", "--net", "sleep", "60"])
    try:
        time.sleep(0.2)
        want = os.readlink(f"/proc/{holder.pid}/ns/net")
        assert want != os.readlink("/proc/self/ns/net")
        b, cfg = rt.bundle(["readlink", "/proc/self/ns/net"])
        for ns in cfg["linux"]["namespaces"]:
            if ns["type"] == "network":
                ns["path"] = f"/proc/{holder.pid}/ns/net"
        rt.write(b, cfg)
        r = rt.cmd("run", "-b", str(b), rt.new_id(), check=True)
        assert r.stdout.strip() == want
    finally:
        holder.kill()
        holder.wait()


def test_user_namespace_maps_root(rt, tmp_path):
    # The mapped root (host uid 100000) must be able to reach the rootfs
    # and the shared directory, so both live below a world-searchable dir.
    pub = pathlib.Path(tempfile.mkdtemp(prefix="bt-userns-"))
    os.chmod(pub, 0o755)
    share = pub / "uns"
    share.mkdir()
    os.chmod(share, 0o777)
    b, cfg = rt.bundle(["sh", "-c", "id -u; cat /proc/self/uid_map; "
                        "touch /share/f"])
    cfg["linux"]["namespaces"].append({"type": "user"})
    cfg["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000,
                                    "size": 65536}]
    cfg["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000,
                                    "size": 65536}]
    cfg["mounts"] = [m for m in cfg["mounts"]
                     if m["destination"] not in ("/sys", "/sys/fs/cgroup")]
    for m in cfg["mounts"]:
        if m["destination"] == "/dev/pts":
            m["options"] = [o for o in m["options"] if o != "gid=5"]
    cfg["mounts"].append({"destination": "/share", "type": "bind",
                          "source": str(share), "options": ["rbind"]})
    try:
        shutil.copytree(rt.rootfs, pub / "rootfs", symlinks=True)
        (pub / "rootfs/share").mkdir()  # host-root owned: made in advance
        cfg["root"]["path"] = str(pub / "rootfs")
        rt.write(b, cfg)
        r = rt.cmd("run", "-b", str(b), rt.new_id())
        assert r.returncode == 0, r.stderr
        lines = r.stdout.split("\n")
        assert lines[0] == "0"
        assert lines[1].split() == ["0", "100000", "65536"]
        assert (share / "f").stat().st_uid == 100000
    finally:
        shutil.rmtree(pub, ignore_errors=True)


def _memory_oom_case(rt, limit):
    b, cfg = rt.bundle(["sh", "-c", "x=a; while true; do x=$x$x; done"])
    cfg["linux"]["resources"] = {"memory": {"limit": limit, "swap": limit}}
    rt.write(b, cfg)
    return rt.cmd("run", "-b", str(b), rt.new_id(), timeout=120)


def test_memory_limit_oom_kills_and_is_visible_inside(rt):
    b, cfg = rt.bundle(["cat", cg_inside("memory", "memory.limit_in_bytes",
                                         "memory.max")])
    cfg["linux"]["resources"] = {"memory": {"limit": 32 << 20}}
    rt.write(b, cfg)
    r = rt.cmd("run", "-b", str(b), rt.new_id(), check=True)
    assert r.stdout.strip() == str(32 << 20)
    r = _memory_oom_case(rt, 24 << 20)
    assert r.returncode == 137, (r.returncode, r.stderr)


def test_pids_limit_stops_fork_bomb(rt):
    b, cfg = rt.bundle(["sh", "-c",
                        f"cat {cg_inside('pids', 'pids.max', 'pids.max')}; "
                        "for i in $(seq 40); do sleep 5 & done 2>&1 | "
                        "grep -c -i 'resource\\|fork' ; true"])
    cfg["linux"]["resources"] = {"pids": {"limit": 16}}
    rt.write(b, cfg)
    r = rt.cmd("run", "-b", str(b), rt.new_id(), timeout=60)
    lines = r.stdout.split()
    assert lines[0] == "16"
    assert int(lines[1]) > 0, "forks beyond pids.max should have failed"


def test_cpu_quota_in_cgroup_files(rt):
    if PURE_V2:
        files = "/sys/fs/cgroup/cpu.max /sys/fs/cgroup/cpu.weight"
        # runc's shares -> weight: 1 + (shares - 2) * 9999 / 262142
        want = ["50000", "100000", str(1 + (512 - 2) * 9999 // 262142)]
    else:
        files = ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us "
                 "/sys/fs/cgroup/cpu/cpu.cfs_period_us "
                 "/sys/fs/cgroup/cpu/cpu.shares")
        want = ["50000", "100000", "512"]
    b, cfg = rt.bundle(["sh", "-c", "cat " + files])
    cfg["linux"]["resources"] = {"cpu": {"quota": 50000, "period": 100000,
                                         "shares": 512}}
    rt.write(b, cfg)
    r = rt.cmd("run", "-b", str(b), rt.new_id(), check=True)
    assert r.stdout.split() == want


def test_seccomp_profile_enforced(rt):
    b, cfg = rt.bundle(["sh", "-c", "mkdir /tmp/d 2>&1; grep Seccomp: "
                        "/proc/self/status"])
    cfg["root"]["readonly"] = False
    cfg["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["mkdir", "mkdirat"],
                      "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
    rt.write(b, cfg)
    r = rt.cmd("run", "-b", str(b), rt.new_id(), check=True)
    assert "Operation not permitted" in r.stdout
    assert "Seccomp:\t2" in r.stdout


def test_exec_joins_the_container(rt, tmp_path):
    b, cfg = rt.bundle(["sleep", "60"])
    cfg["hostname"] = "execbox"
    rt.write(b, cfg)
    cid = rt.new_id()
    rt.cmd("run", "-d", "-b", str(b), cid, check=True)
    r = rt.cmd("exec", cid, "sh", "-c", "hostname; echo $$; exit 4")
    assert r.returncode == 4
    out = r.stdout.split()
    assert out[0] == "execbox" and int(out[1]) > 1
    proc = {"args": ["sh", "-c", "id -u; pwd"], "cwd": "/tmp",
            "env": ["PATH=/bin"], "user": {"uid": 1000, "gid": 1000}}
    pf = tmp_path / "process.json"
    pf.write_text(json.dumps(proc))
    r = rt.cmd("exec", "--process", str(pf), cid, check=True)
    assert r.stdout.split() == ["1000", "/tmp"]
    pids = json.loads(rt.cmd("ps", "--format", "json", cid,
                             check=True).stdout)
    assert rt.state(cid)["pid"] in pids


def test_pause_resume_and_update(rt):
    b, _ = rt.bundle(["sleep", "60"])
    cid = rt.new_id()
    rt.cmd("run", "--detach", "-b", str(b), cid, check=True)
    rt.cmd("pause", cid, check=True)
    assert rt.state(cid)["status"] == "paused"
    rt.cmd("resume", cid, check=True)
    assert rt.state(cid)["status"] == "running"
    res = {"memory": {"limit": 64 << 20}, "pids": {"limit": 33}}
    rt.cmd("update", "--resources", "-", cid, check=True,
           input=json.dumps(res))
    mem = cg_host_dir("memory", cid) / (
        "memory.max" if PURE_V2 else "memory.limit_in_bytes")
    assert mem.read_text().strip() == str(64 << 20)
    pids = cg_host_dir("pids", cid) / "pids.max"
    assert pids.read_text().strip() == "33"


def test_hooks_get_state_and_run_in_order(rt, tmp_path):
    log = tmp_path / "hooks.log"
    script = tmp_path / "hook.sh"
    script.write_text(f"#!/bin/sh\necho \"$1 $(cat)\" >> {log}\n")
    script.chmod(0o755)
    b, cfg = rt.bundle(["true"])
    cfg["hooks"] = {k: [{"path": str(script), "args": ["hook.sh", k]}]
                    for k in ("createRuntime", "poststart", "poststop")}
    rt.write(b, cfg)
    cid = rt.new_id()
    rt.cmd("run", "-b", str(b), cid, check=True)
    lines = log.read_text().splitlines()
    kinds = [l.split(" ", 1)[0] for l in lines]
    assert kinds == ["createRuntime", "poststart", "poststop"], lines
    st = json.loads(lines[0].split(" ", 1)[1])
    assert st["id"] == cid and st["pid"] > 0 and st["status"] == "creating"
    assert json.loads(lines[2].split(" ", 1)[1])["status"] == "stopped"


def test_failed_poststart_and_poststop_hooks_do_not_stop_the_rest(
        rt, tmp_path):
    """The runtime spec: a failing poststart or poststop hook is a warning
    and the hooks after it still run; prestart hooks see "created"."""
    log = tmp_path / "hooks.log"
    script = tmp_path / "hook.sh"
    script.write_text(f"#!/bin/sh\necho \"$1 $(cat)\" >> {log}\n")
    script.chmod(0o755)
    b, cfg = rt.bundle(["true"])
    cfg["hooks"] = {
        "prestart": [{"path": str(script), "args": ["hook.sh", "prestart"]}],
        "poststart": [{"path": "/bin/false"},
                      {"path": str(script), "args": ["hook.sh", "poststart"]}],
        "poststop": [{"path": "/bin/false"},
                     {"path": str(script), "args": ["hook.sh", "poststop"]}],
    }
    rt.write(b, cfg)
    cid = rt.new_id()
    r = rt.cmd("run", "-b", str(b), cid)
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("warning:") == 2, r.stderr
    lines = log.read_text().splitlines()
    assert [l.split(" ", 1)[0] for l in lines] == [
        "prestart", "poststart", "poststop"], lines
    assert json.loads(lines[0].split(" ", 1)[1])["status"] == "created"


def test_failing_create_hook_leaves_nothing(rt):
    b, cfg = rt.bundle(["true"])
    cfg["hooks"] = {"createRuntime": [{"path": "/bin/false"}]}
    rt.write(b, cfg)
    cid = rt.new_id()
    r = rt.cmd("run", "-b", str(b), cid)
    assert r.returncode != 0 and "createRuntime hook" in r.stderr, r.stderr
    assert not (rt.root / cid).exists() and _cgroup_dirs(cid) == []


def test_console_socket_receives_pty_master(rt, tmp_path):
    path = str(tmp_path / "console.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    b, cfg = rt.bundle(["sh", "-c", "tty; stty size"])
    cfg["process"]["terminal"] = True
    cfg["process"]["consoleSize"] = {"height": 33, "width": 101}
    rt.write(b, cfg)
    cid = rt.new_id()
    p = subprocess.Popen([RUNTIME, "--root", str(rt.root), "create", "-b",
                          str(b), "--console-socket", path, cid])
    conn, _ = srv.accept()
    _, fds, _, _ = socket.recv_fds(conn, 1024, 1)
    assert p.wait(timeout=30) == 0
    assert len(fds) == 1
    rt.cmd("start", cid, check=True)
    out = b""
    deadline = time.time() + 5
    while time.time() < deadline and b"101" not in out:
        try:
            out += os.read(fds[0], 4096)
        except OSError:
            break
    os.close(fds[0])
    assert b"/dev/pts/0" in out and b"33 101" in out, out


def test_bad_configs_give_clear_errors_and_leave_nothing(rt):
    cases = [
        (lambda c: "{not json", "not valid JSON"),
        (lambda c: c["process"].pop("cwd") and c, "process.cwd"),
        (lambda c: c["linux"]["namespaces"].append({"type": "bogus"}) or c,
         "unknown namespace type 'bogus'"),
        (lambda c: c["process"].__setitem__("args", ["no-such-binary"]) or c,
         "no-such-binary"),
        (lambda c: c["root"].__setitem__("path", "/nonexistent/root") or c,
         "/nonexistent/root"),
    ]
    for mutate, needle in cases:
        b, cfg = rt.bundle(["true"])
        out = mutate(cfg)
        (b / "config.json").write_text(out if isinstance(out, str)
                                       else json.dumps(out))
        cid = rt.new_id()
        r = rt.cmd("run", "-b", str(b), cid)
        assert r.returncode != 0, needle
        assert needle in r.stderr, (needle, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert not (rt.root / cid).exists(), needle
        assert _cgroup_dirs(cid) == [], needle


def test_features_and_spec(rt, tmp_path):
    f = json.loads(subprocess.run([RUNTIME, "features"], capture_output=True,
                                  text=True, check=True).stdout)
    assert f["ociVersionMin"] == "1.0.0" and f["ociVersionMax"].startswith("1.2")
    assert "pid" in f["linux"]["namespaces"]
    assert "SCMP_ACT_ERRNO" in f["linux"]["seccomp"]["actions"]
    assert "createRuntime" in f["hooks"]
    r = subprocess.run([RUNTIME, "spec", "--bundle", str(tmp_path)],
                       capture_output=True, text=True)
    assert r.returncode == 0
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["process"]["args"] == ["sh"]
    r = subprocess.run([RUNTIME, "spec", "--bundle", str(tmp_path)],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "exists" in r.stderr


# ---- SECURITY.md threat classes 1-3 ----

def test_cve_2019_5736_runtime_binary_not_writable_from_container(rt):
    """A container process that got a handle on the runtime's binary
    through /proc/PID/exe must not be able to write it, even after the
    runtime process is gone (the runc exploit waits for exit)."""
    b, _ = rt.bundle(["sleep", "30"])
    cid = rt.new_id()
    rt.cmd("create", "-b", str(b), cid, check=True)
    pid = rt.state(cid)["pid"]
    fd = os.open(f"/proc/{pid}/exe", os.O_PATH)
    try:
        rt.cmd("delete", "--force", cid, check=True)
        time.sleep(0.1)
        with pytest.raises(OSError) as e:
            os.close(os.open(f"/proc/self/fd/{fd}", os.O_WRONLY))
        assert e.value.errno in (30, 1, 13), e.value  # EROFS / EPERM / EACCES
    finally:
        os.close(fd)


def test_cve_2024_21626_no_host_fds_and_cwd_checked(rt):
    extra = os.open("/", os.O_RDONLY)  # an fd the runtime's caller leaks
    try:
        r, _ = rt.run(["sh", "-c", "ls /proc/self/fd"], )
        fds = sorted(int(x) for x in r.stdout.split())
        assert fds == [0, 1, 2, 3], fds  # 3 is ls's own directory fd
        for n in range(3, 12):
            b, cfg = rt.bundle(["true"])
            cfg["process"]["cwd"] = f"/proc/self/fd/{n}"
            rt.write(b, cfg)
            r = rt.cmd("run", "-b", str(b), rt.new_id(), pass_fds=(extra,))
            assert r.returncode != 0, f"cwd /proc/self/fd/{n} was accepted"
    finally:
        os.close(extra)


def test_symlink_mount_target_cannot_escape(rt, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("host data")
    rootfs = tmp_path / "evilroot"
    shutil.copytree(rt.rootfs, rootfs, symlinks=True)
    os.symlink(str(outside), rootfs / "evil")
    b, cfg = rt.bundle(["ls", "/evil"])
    cfg["root"]["path"] = str(rootfs)
    cfg["mounts"].append({"destination": "/evil", "type": "tmpfs",
                          "source": "tmpfs", "options": ["size=1m"]})
    rt.write(b, cfg)
    r = rt.cmd("run", "-b", str(b), rt.new_id())
    # Whatever happened inside, the host directory was not covered.
    assert (outside / "keep").read_text() == "host data"
    assert not os.path.ismount(outside)


def test_proc_symlink_in_rootfs_is_refused(rt, tmp_path):
    rootfs = tmp_path / "procroot"
    shutil.copytree(rt.rootfs, rootfs, symlinks=True)
    os.rmdir(rootfs / "proc")
    os.symlink("/tmp", rootfs / "proc")
    b, cfg = rt.bundle(["true"])
    cfg["root"]["path"] = str(rootfs)
    rt.write(b, cfg)
    cid = rt.new_id()
    r = rt.cmd("run", "-b", str(b), cid)
    assert r.returncode != 0 and "symlink" in r.stderr, r.stderr
    assert not (rt.root / cid).exists()


def test_sysctl_and_time_namespace_offsets(rt):
    b, cfg = rt.bundle(["sh", "-c", "cat /proc/sys/net/ipv4/ip_forward; "
                        "cut -d. -f1 /proc/uptime"])
    cfg["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    cfg["linux"]["namespaces"].append({"type": "time"})
    cfg["linux"]["timeOffsets"] = {"boottime": {"secs": 86400 * 10,
                                                "nanosecs": 0}}
    rt.write(b, cfg)
    r = rt.cmd("run", "-b", str(b), rt.new_id(), check=True)
    fwd, up = r.stdout.split()
    host_up = float(open("/proc/uptime").read().split()[0])
    assert fwd == "1"
    assert int(up) >= host_up + 86400 * 10 - 5, (up, host_up)


def test_idmapped_bind_mount(rt, tmp_path):
    src = tmp_path / "idm"
    src.mkdir()
    (src / "f").write_text("x")
    os.chown(src / "f", 0, 0)
    b, cfg = rt.bundle(["stat", "-c", "%u:%g", "/mnt/f"])
    cfg["mounts"].append({
        "destination": "/mnt", "type": "bind", "source": str(src),
        "options": ["rbind", "idmap"],
        "uidMappings": [{"containerID": 0, "hostID": 1234, "size": 1}],
        "gidMappings": [{"containerID": 0, "hostID": 1234, "size": 1}]})
    rt.write(b, cfg)
    r = rt.cmd("run", "-b", str(b), rt.new_id())
    fstype = subprocess.run(["stat", "-f", "-c", "%T", str(src)],
                            capture_output=True, text=True).stdout.strip()
    release = tuple(int(x) for x in os.uname().release.split(".")[:2])
    if fstype == "tmpfs" and release < (6, 3):
        # Older kernels: a clear error that names the filesystem and the
        # kernel that can.
        assert r.returncode != 0
        assert "tmpfs, which supports idmapped mounts since Linux 6.3" in \
            r.stderr, r.stderr
        return
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "1234:1234"
    assert (src / "f").stat().st_uid == 0  # the files themselves unchanged


def test_systemd_cgroup_without_systemd_is_a_clear_error(rt):
    if os.path.isdir("/run/systemd/system"):
        pytest.skip("systemd runs on this host")
    b, _ = rt.bundle(["true"])
    cid = rt.new_id()
    r = subprocess.run([RUNTIME, "--root", str(rt.root), "--systemd-cgroup",
                        "run", "-b", str(b), cid], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode != 0 and "systemd" in r.stderr, r.stderr
    assert not (rt.root / cid).exists()


def test_json_log_format(rt, tmp_path):
    log = tmp_path / "log.json"
    r = subprocess.run([RUNTIME, "--root", str(rt.root), "--log", str(log),
                        "--log-format", "json", "state", "no-such-ctr"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    entry = json.loads(log.read_text().splitlines()[0])
    assert entry["level"] == "error" and "no-such-ctr" in entry["msg"]
    assert "time" in entry


def test_hook_timeout_kills_the_hook_and_fails_create(rt, tmp_path):
    b, cfg = rt.bundle(["true"])
    cfg["hooks"] = {"createRuntime": [{"path": "/bin/sleep",
                                       "args": ["sleep", "30"],
                                       "timeout": 1}]}
    rt.write(b, cfg)
    cid = rt.new_id()
    t0 = time.time()
    r = rt.cmd("run", "-b", str(b), cid)
    assert r.returncode != 0 and "timed out" in r.stderr, r.stderr
    assert time.time() - t0 < 10
    assert not (rt.root / cid).exists() and _cgroup_dirs(cid) == []


def test_kill_all_signals_every_process(rt):
    b, _ = rt.bundle(["sh", "-c", "sleep 60 & sleep 60 & wait"])
    cid = rt.new_id()
    rt.cmd("run", "-d", "-b", str(b), cid, check=True)
    time.sleep(0.3)
    pids = json.loads(rt.cmd("ps", "--format", "json", cid,
                             check=True).stdout)
    assert len(pids) == 3, pids
    rt.cmd("kill", "--all", cid, "SIGKILL", check=True)
    for _ in range(50):
        if rt.state(cid)["status"] == "stopped":
            break
        time.sleep(0.05)
    assert rt.state(cid)["status"] == "stopped"
    for p in pids:
        assert not os.path.exists(f"/proc/{p}") or \
            "Z" in open(f"/proc/{p}/stat").read().split(")")[1][:3]


def test_delete_force_cleans_a_half_made_container(rt):
    """What a create killed half-way leaves (a state dir without state.json,
    a cgroup) goes away with delete --force; plain delete explains."""
    b, cfg = rt.bundle(["true"])
    cid = rt.new_id()
    d = rt.root / cid
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps(cfg))
    mem = cg_host_dir("memory", cid)
    mem.mkdir(parents=True)
    r = rt.cmd("delete", cid)
    assert r.returncode != 0 and cid in r.stderr
    rt.cmd("delete", "--force", cid, check=True)
    assert not d.exists()
    assert not mem.exists()


def test_state_is_creating_while_create_runs(rt):
    b, cfg = rt.bundle(["true"])
    cfg["hooks"] = {"createRuntime": [{"path": "/bin/sleep",
                                       "args": ["sleep", "3"]}]}
    rt.write(b, cfg)
    cid = rt.new_id()
    p = subprocess.Popen([RUNTIME, "--root", str(rt.root), "run", "-b",
                          str(b), cid], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        seen = None
        for _ in range(100):
            r = rt.cmd("state", cid)
            if r.returncode == 0:
                seen = json.loads(r.stdout)
                break
            time.sleep(0.02)
        assert seen and seen["status"] == "creating" and seen["pid"] == 0
        r = rt.cmd("delete", cid)
        assert r.returncode != 0 and "creating" in r.stderr
        rt.cmd("delete", "--force", cid, check=True)
        assert p.wait(timeout=10) != 0  # the creator was stopped
        assert not (rt.root / cid).exists() and _cgroup_dirs(cid) == []
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
