"""berthd + berth-shim seen through the real docker CLI and docker-py.

Every test runs containers the way a user would and checks what the
container saw (or what docker's tools report), against the private daemon
of the `engine` fixture.  The same tests run against a private dockerd with
BERTH_TEST_ENGINE=dockerd, which is how their expectations were checked.
"""
import json
import os
import re
import subprocess
import tempfile
import time

import pytest

from conftest import api_json


def out(r):
    return r.stdout.decode(errors="replace")


def err(r):
    return r.stderr.decode(errors="replace")


@pytest.fixture
def names(engine, unique):
    """Container names for a test; whatever exists at the end is removed."""
    made = []

    def make(suffix=""):
        n = f"{unique}{suffix}{len(made)}"
        made.append(n)
        return n
    yield make
    if made:
        engine.docker("rm", "-f", "-v", *made, check=False)


def cgroup_value(engine, args, v1, v2):
    """Read a cgroup file inside a container, v1 or v2 layout."""
    script = (f"cat /sys/fs/cgroup/{v2} 2>/dev/null || "
              f"cat /sys/fs/cgroup/{v1}")
    r = engine.docker("run", "--rm", *args, engine.image, "sh", "-c", script)
    return out(r).strip()


# ---- basics ----

def test_version_and_ping(engine):
    r = engine.docker("version", "--format", "{{json .Server}}")
    srv = json.loads(out(r))
    assert srv["ApiVersion"] == "1.44"
    assert srv["Os"] == "linux"
    st, body = api_json(engine, "GET", "/v1.24/_ping")
    assert st == 200
    st, body = api_json(engine, "GET", "/v1.99/version")
    assert st == 400 or st == 404
    st, body = api_json(engine, "GET", "/v1.44/no/such/endpoint")
    assert st == 404 and "message" in body


def test_run_attached_streams_and_exit_code(engine):
    r = engine.docker("run", "--rm", "--network", "none", engine.image,
                      "sh", "-c", "echo to-out; echo to-err >&2; exit 3",
                      check=False)
    assert r.returncode == 3
    assert out(r) == "to-out\n"
    assert "to-err" in err(r) and "to-out" not in err(r)


def test_run_exit_codes_for_bad_commands(engine):
    r = engine.docker("run", "--rm", engine.image, "no-such-cmd", check=False)
    assert r.returncode == 127
    assert "executable file not found" in err(r)
    r = engine.docker("run", "--rm", engine.image, "/etc", check=False)
    assert r.returncode == 126
    # --pull never: the image is missing, and a pull would go to Docker Hub.
    r = engine.docker("run", "--rm", "--pull", "never",
                      "berth-test/no-such-image:1", "true", check=False)
    assert r.returncode == 125
    assert "berth-test/no-such-image" in err(r)
    r = engine.docker("run", "--rm", engine.image, "sh", "-c",
                      "sleep 100 & kill -9 $!; wait $!", check=False)
    assert r.returncode == 137


def test_run_rm_leaves_nothing(engine, unique):
    n = unique + "rm"
    engine.docker("run", "--rm", "--name", n, engine.image, "true")
    r = engine.docker("ps", "-a", "-q", "--filter", f"name={n}")
    assert out(r).strip() == ""
    assert not any(n in l for l in os.listdir(os.path.join(
        engine.exec_root, "shims")))


def test_stdin_pipe(engine):
    r = engine.docker("run", "--rm", "-i", engine.image, "sh", "-c",
                      "tr a-z A-Z; echo done", input=b"hello berth\n")
    assert out(r) == "HELLO BERTH\ndone\n"


def test_tty_through_a_pty(engine):
    cmd = (f"stty rows 21 cols 73; {DOCKER_ENV(engine)} docker run -it --rm "
           f"{engine.image} sh -c 'tty; stty size; exit 4'")
    r = subprocess.run(["script", "-qec", cmd, "/dev/null"],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=60)
    text = out(r)
    assert "/dev/pts/0" in text
    assert "21 73" in text
    assert r.returncode == 4


def DOCKER_ENV(engine):
    return f"DOCKER_HOST={engine.host}"


def test_interactive_shell_over_pty(engine):
    cmd = f"{DOCKER_ENV(engine)} docker run -it --rm {engine.image} sh"
    r = subprocess.run(["script", "-qec", cmd, "/dev/null"],
                       input=b"echo $((6*7))\nexit 9\n",
                       capture_output=True, timeout=60)
    assert "42" in out(r)
    assert r.returncode == 9


def test_env_workdir_user_hostname_hosts(engine, tmp_path):
    envf = tmp_path / "env"
    envf.write_text("FROM_FILE=yes\n# comment\n")
    r = engine.docker(
        "run", "--rm", "-e", "A=1", "--env", "B=two words", "--env-file",
        str(envf), "-w", "/tmp/wd", "-u", "1000:2000", "--hostname", "boxy",
        "--add-host", "db.example:10.1.2.3", engine.image, "sh", "-c",
        'echo "$A|$B|$FROM_FILE|$(pwd)|$(id -u):$(id -g)|$(hostname)";'
        "grep db.example /etc/hosts")
    lines = out(r).splitlines()
    assert lines[0] == "A=1".split("=")[1] + "|two words|yes|/tmp/wd|1000:2000|boxy"
    assert "10.1.2.3" in lines[1]
    r = engine.docker("run", "--rm", "-u", "tester", engine.image, "id")
    assert "uid=1000(tester)" in out(r) and "2000(extra)" in out(r)


def test_entrypoint_and_labels(engine, names):
    n = names()
    engine.docker("create", "--name", n, "-l", "tier=web", "--entrypoint",
                  "echo", engine.image, "from", "entrypoint")
    r = engine.docker("start", "-a", n)
    assert out(r) == "from entrypoint\n"
    r = engine.docker("inspect", "-f",
                      "{{.Config.Labels.tier}} {{json .Config.Entrypoint}}", n)
    assert out(r).strip() == 'web ["echo"]'


# ---- detached containers ----

def test_detached_logs_exec_stop(engine, names):
    n = names()
    cid = out(engine.docker(
        "run", "-d", "--name", n, engine.image, "sh", "-c",
        "trap 'echo got-term; exit 0' TERM; echo started; "
        "echo warn >&2; while true; do sleep 0.1; done")).strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    deadline = time.time() + 10
    while "started" not in out(engine.docker("logs", n)):
        assert time.time() < deadline
        time.sleep(0.1)
    r = engine.docker("logs", n)
    assert out(r) == "started\n" and err(r) == "warn\n"
    r = engine.docker("logs", "-t", "--tail", "2", n)
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z started\n$",
                    out(r))
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z warn\n$",
                    err(r))
    r = engine.docker("exec", n, "sh", "-c", "echo in-exec; exit 5",
                      check=False)
    assert r.returncode == 5 and out(r) == "in-exec\n"
    r = engine.docker("exec", "-i", n, "cat", input=b"piped\n")
    assert out(r) == "piped\n"
    r = engine.docker("exec", "-u", "1000", "-w", "/tmp", "-e", "X=y", n,
                      "sh", "-c", "echo $(id -u) $(pwd) $X")
    assert out(r) == "1000 /tmp y\n"
    r = engine.docker("exec", n, "no-such-cmd", check=False)
    assert r.returncode == 127
    r = engine.docker("ps", "--filter", f"name={n}", "--format",
                      "{{.Names}} {{.Status}}")
    assert out(r).startswith(f"{n} Up")
    t0 = time.time()
    engine.docker("stop", n)
    assert time.time() - t0 < 5, "TERM was handled, stop must not wait"
    r = engine.docker("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}",
                      n)
    assert out(r).strip() == "exited 0"
    assert "got-term" in out(engine.docker("logs", n))


def test_stop_timeout_then_kill(engine, names):
    n = names()
    engine.docker("run", "-d", "--name", n, engine.image, "sleep", "1000")
    t0 = time.time()
    engine.docker("stop", "-t", "1", n)
    assert time.time() - t0 < 6
    r = engine.docker("inspect", "-f", "{{.State.ExitCode}}", n)
    assert out(r).strip() == "137"


def test_kill_start_restart_wait_rename(engine, names):
    n, n2 = names(), names()
    engine.docker("run", "-d", "--name", n, engine.image, "sh", "-c",
                  "trap 'exit 42' USR1; while true; do sleep 0.1; done")
    time.sleep(0.3)
    engine.docker("kill", "-s", "USR1", n)
    r = engine.docker("wait", n)
    assert out(r).strip() == "42"
    engine.docker("start", n)
    r = engine.docker("inspect", "-f", "{{.State.Running}}", n)
    assert out(r).strip() == "true"
    pid1 = out(engine.docker("inspect", "-f", "{{.State.Pid}}", n)).strip()
    engine.docker("restart", "-t", "1", n)
    pid2 = out(engine.docker("inspect", "-f", "{{.State.Pid}}", n)).strip()
    assert pid1 != pid2 and int(pid2) > 0
    engine.docker("rename", n, n2)
    r = engine.docker("top", n2)
    assert "sleep" in out(r) or "sh" in out(r)
    r = engine.docker("stats", "--no-stream", "--format",
                      "{{.Name}} {{.MemUsage}}", n2)
    assert out(r).startswith(n2)
    engine.docker("kill", n2)
    r = engine.docker("inspect", "-f", "{{.State.ExitCode}}", n2)
    assert out(r).strip() == "137"


def test_restart_policy_on_failure(engine, names):
    n = names()
    engine.docker("run", "-d", "--name", n, "--restart", "on-failure:2",
                  engine.image, "sh", "-c", "exit 3")
    deadline = time.time() + 20
    while True:
        r = engine.docker("inspect", "-f",
                          "{{.RestartCount}} {{.State.Status}}", n)
        if out(r).strip() == "2 exited":
            break
        assert time.time() < deadline, out(r)
        time.sleep(0.2)


def test_init_reaps_and_forwards_signals(engine, names):
    r = engine.docker("run", "--rm", "--init", engine.image, "sh", "-c",
                      "tr '\\0' ' ' < /proc/1/cmdline")
    assert out(r).startswith("/dev/init -- sh -c")
    n = names()
    engine.docker("run", "-d", "--init", "--name", n, engine.image, "sleep",
                  "1000")
    t0 = time.time()
    engine.docker("stop", n)
    assert time.time() - t0 < 5, "init must pass SIGTERM on to sleep"
    r = engine.docker("inspect", "-f", "{{.State.ExitCode}}", n)
    assert out(r).strip() == "143"


# ---- resources ----

def test_limits_seen_from_inside(engine):
    assert cgroup_value(engine, ["-m", "64m"], "memory/memory.limit_in_bytes",
                        "memory.max") == str(64 * 1024 * 1024)
    assert cgroup_value(engine, ["--pids-limit", "33"], "pids/pids.max",
                        "pids.max") == "33"
    v = cgroup_value(engine, ["--cpus", "0.5"], "cpu/cpu.cfs_quota_us",
                     "cpu.max")
    assert v in ("50000", "50000 100000")
    r = engine.docker("run", "--rm", "--ulimit", "nofile=321:654",
                      engine.image, "sh", "-c", "ulimit -n; ulimit -Hn")
    assert out(r).split() == ["321", "654"]


def test_oom_is_reported(engine, names):
    n = names()
    r = engine.docker("run", "--name", n, "-m", "24m", "--memory-swap",
                      "24m", engine.image, "sh", "-c",
                      "x=$(head -c 200000000 /dev/zero | tr '\\0' a)",
                      check=False)
    assert r.returncode == 137
    r = engine.docker("inspect", "-f", "{{.State.OOMKilled}}", n)
    assert out(r).strip() == "true"


def test_fork_bomb_is_contained(engine, names):
    n = names()
    engine.docker("run", "-d", "--name", n, "--pids-limit", "40",
                  engine.image, "sh", "-c",
                  "b() { b | b & }; b; sleep 1000")
    time.sleep(2)
    r = engine.docker("top", n, check=False)
    procs = len(out(r).splitlines()) - 1
    assert 0 < procs <= 40
    t0 = time.time()
    engine.docker("rm", "-f", n)
    assert time.time() - t0 < 10


# ---- security defaults (SECURITY.md) ----

def status_field(engine, args, field):
    r = engine.docker("run", "--rm", *args, engine.image, "sh", "-c",
                      f"grep '^{field}:' /proc/self/status")
    return out(r).split()[1]


def test_default_capabilities_and_seccomp(engine):
    # Docker's 14 default capabilities.
    assert status_field(engine, [], "CapEff") == "00000000a80425fb"
    assert status_field(engine, ["--cap-drop", "ALL"], "CapEff") == \
        "0000000000000000"
    added = int(status_field(engine, ["--cap-add", "NET_ADMIN"], "CapEff"),
                16)
    assert added & (1 << 12)
    assert status_field(engine, [], "Seccomp") == "2"
    assert status_field(engine, ["--security-opt", "seccomp=unconfined"],
                        "Seccomp") == "0"
    assert status_field(engine, ["--security-opt", "no-new-privileges"],
                        "NoNewPrivs") == "1"
    r = engine.docker("run", "--rm", engine.image, "sh", "-c",
                      "unshare -m true 2>&1; echo rc=$?")
    assert "rc=0" not in out(r)


def test_masked_and_readonly_paths(engine):
    masked = [p for p in ("/proc/kcore", "/proc/keys", "/proc/timer_list",
                          "/proc/sched_debug", "/sys/firmware")
              if os.path.exists(p)]
    assert masked
    for p in masked:
        probe = f"ls -A {p} | wc -l" if os.path.isdir(p) else f"wc -c < {p}"
        r = engine.docker("run", "--rm", engine.image, "sh", "-c", probe)
        assert out(r).split() == ["0"], (p, out(r))
    r = engine.docker("run", "--rm", engine.image, "sh", "-c",
                      "echo 1 > /proc/sys/kernel/domainname 2>&1; echo rc=$?")
    assert "rc=0" not in out(r)
    r = engine.docker("run", "--rm", "--read-only", engine.image, "sh", "-c",
                      "touch /x 2>&1; echo rc=$?")
    assert "rc=0" not in out(r)
    r = engine.docker("run", "--rm", "--read-only", "--tmpfs", "/scratch",
                      engine.image, "sh", "-c", "touch /scratch/x && echo ok")
    assert out(r) == "ok\n"


def test_processes_start_with_default_signal_state(engine, names):
    # Nothing the shim ignores or blocks may leak into the container:
    # a shell cannot trap a signal that was ignored when it started.
    r = engine.docker("run", "--rm", engine.image, "grep", "-E",
                      "SigBlk|SigIgn", "/proc/self/status")
    assert [l.split()[1] for l in out(r).splitlines()] == \
        ["0000000000000000"] * 2
    n = names()
    engine.docker("run", "-d", "--name", n, engine.image, "sleep", "100")
    r = engine.docker("exec", n, "grep", "-E", "SigBlk|SigIgn",
                      "/proc/self/status")
    assert [l.split()[1] for l in out(r).splitlines()] == \
        ["0000000000000000"] * 2


# ---- storage ----

def test_bind_mounts(engine, tmp_path):
    (tmp_path / "in").write_text("from-host\n")
    r = engine.docker("run", "--rm", "-v", f"{tmp_path}:/b", engine.image,
                      "sh", "-c", "cat /b/in; echo from-ctr > /b/out")
    assert out(r) == "from-host\n"
    assert (tmp_path / "out").read_text() == "from-ctr\n"
    r = engine.docker("run", "--rm", "-v", f"{tmp_path}:/b:ro", engine.image,
                      "sh", "-c", "echo x > /b/out 2>&1; echo rc=$?")
    assert "rc=0" not in out(r)
    r = engine.docker("run", "--rm", "--mount",
                      f"type=bind,source={tmp_path},target=/m,readonly",
                      engine.image, "cat", "/m/in")
    assert out(r) == "from-host\n"


def test_named_volumes_persist_and_are_seeded(engine, unique):
    v = unique + "vol"
    try:
        engine.docker("run", "--rm", "-v", f"{v}:/data", engine.image, "sh",
                      "-c", "echo kept > /data/f")
        r = engine.docker("run", "--rm", "-v", f"{v}:/data:ro", engine.image,
                          "cat", "/data/f")
        assert out(r) == "kept\n"
        r = engine.docker("volume", "ls", "-q")
        assert v in out(r).split()
        r = engine.docker("volume", "inspect", "-f", "{{.Driver}} {{.Name}}", v)
        assert out(r).strip() == f"local {v}"
        # A new volume over image content starts with that content.
        v2 = unique + "seed"
        r = engine.docker("run", "--rm", "-v", f"{v2}:/etc", engine.image,
                          "cat", "/etc/group")
        assert "tester" in out(r)
        engine.docker("volume", "rm", v2)
        r = engine.docker("volume", "rm", v + "-missing", check=False)
        assert r.returncode != 0 and "no such volume" in err(r).lower()
    finally:
        engine.docker("volume", "rm", "-f", v, check=False)


def test_volume_in_use_cannot_be_removed(engine, names, unique):
    n, v = names(), unique + "busy"
    engine.docker("create", "--name", n, "-v", f"{v}:/d", engine.image)
    r = engine.docker("volume", "rm", v, check=False)
    assert r.returncode != 0 and "in use" in err(r)
    engine.docker("rm", "-v", n)
    engine.docker("volume", "rm", v)


def test_log_rotation(engine, names):
    n = names()
    engine.docker("run", "--name", n, "--log-opt", "max-size=2k",
                  "--log-opt", "max-file=3", engine.image, "sh", "-c",
                  "i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); "
                  "done")
    path = out(engine.docker("inspect", "-f", "{{.LogPath}}", n)).strip()
    files = [p for p in os.listdir(os.path.dirname(path))
             if p.startswith(os.path.basename(path))]
    assert len(files) == 3, files
    for f in files:
        assert os.path.getsize(os.path.join(os.path.dirname(path), f)) <= 2048
        with open(os.path.join(os.path.dirname(path), f)) as fh:
            for line in fh:
                e = json.loads(line)
                assert e["stream"] == "stdout" and e["log"].endswith("\n")
    assert "line-299" in out(engine.docker("logs", "--tail", "1", n))


# ---- images ----

def test_save_load_roundtrip(engine, tmp_path):
    tag = "berth-test/roundtrip:v1"
    engine.docker("tag", engine.image, tag)
    arch = tmp_path / "img.tar"
    engine.docker("save", "-o", str(arch), tag)
    listing = subprocess.run(["tar", "-tf", str(arch)], capture_output=True,
                             check=True).stdout.decode().split()
    assert "manifest.json" in listing
    man = json.loads(subprocess.run(["tar", "-xOf", str(arch),
                                     "manifest.json"], capture_output=True,
                                    check=True).stdout)
    assert man[0]["RepoTags"] == [tag] and man[0]["Layers"]
    iid = out(engine.docker("inspect", "-f", "{{.Id}}", tag)).strip()
    engine.docker("rmi", tag)
    r = engine.docker("inspect", tag, check=False)
    assert r.returncode != 0 and "No such" in err(r)
    r = engine.docker("load", "-i", str(arch))
    assert f"Loaded image: {tag}" in out(r)
    assert out(engine.docker("inspect", "-f", "{{.Id}}", tag)).strip() == iid
    r = engine.docker("run", "--rm", tag, "echo", "from-loaded")
    assert out(r) == "from-loaded\n"
    engine.docker("rmi", tag)


def test_image_commands(engine, names):
    r = engine.docker("images", "--format", "{{.Repository}}:{{.Tag}}")
    assert engine.image in out(r).split()
    r = engine.docker("history", engine.image)
    assert "IMAGE" in out(r)
    n = names()
    engine.docker("tag", engine.image, "berth-test/inuse:1")
    engine.docker("create", "--name", n, "berth-test/inuse:1")
    # The image keeps another tag: untagging is allowed; deleting by id is
    # refused while a container uses it.
    iid = out(engine.docker("inspect", "-f", "{{.Id}}", engine.image)).strip()
    r = engine.docker("rmi", iid, check=False)
    assert r.returncode != 0 and "conflict" in err(r)
    engine.docker("rmi", "berth-test/inuse:1")
    r = engine.docker("rmi", "berth-test/no-such:1", check=False)
    assert r.returncode != 0 and "No such image" in err(r)


def test_import_with_changes(engine, tmp_path):
    root = tmp_path / "r"
    (root / "bin").mkdir(parents=True)
    os.link("/bin/busybox", root / "bin" / "sh") if False else \
        subprocess.run(["cp", "/bin/busybox", str(root / "bin" / "sh")],
                       check=True)
    tar = subprocess.run(["tar", "-C", str(root), "-c", "."],
                         capture_output=True, check=True).stdout
    tag = "berth-test/imported:1"
    engine.docker("import", "-c", "ENV GREETING=hi", "-c",
                  'CMD ["sh", "-c", "echo $GREETING"]', "-", tag, input=tar)
    r = engine.docker("run", "--rm", tag)
    assert out(r) == "hi\n"
    engine.docker("rmi", tag)


# ---- errors ----

def test_errors_are_docker_like(engine, names):
    r = engine.docker("inspect", "--type", "container", "no-such-ctr",
                      check=False)
    assert r.returncode == 1 and "No such container: no-such-ctr" in err(r)
    r = engine.docker("rm", "no-such-ctr", check=False)
    assert r.returncode == 1 and "No such container" in err(r)
    n = names()
    engine.docker("create", "--name", n, engine.image)
    r = engine.docker("create", "--name", n, engine.image, check=False)
    assert r.returncode != 0 and "is already in use" in err(r)
    st, body = api_json(engine, "POST", f"/v1.44/containers/create?name={n}",
                        {"Image": engine.image})
    assert st == 409
    r = engine.docker("rm", n)
    st, body = api_json(engine, "POST", "/v1.44/containers/create",
                        {"Image": engine.image, "HostConfig":
                         {"Memory": -5}})
    assert st == 400 or st == 500
    st, body = api_json(engine, "POST", "/v1.44/containers/create",
                        {"Image": "berth-test/missing:1"})
    assert st == 404 and "No such image" in body["message"]
    # Nothing half-made remains.
    r = engine.docker("ps", "-aq", "--filter", "ancestor=berth-test/missing:1")
    assert out(r).strip() == ""


def test_bad_requests_do_not_crash_the_daemon(engine):
    for method, path, body in [
            ("POST", "/v1.44/containers/create", {"Image": 5}),
            ("POST", "/v1.44/containers/create", {"Image": engine.image,
                                                  "Cmd": {"not": "a list"}}),
            ("POST", "/v1.44/containers/create", {"Image": engine.image,
                                                  "HostConfig": {"Binds":
                                                                 ["nocolon"]}}),
            ("POST", "/v1.44/containers/create?name=bad/name",
             {"Image": engine.image}),
            ("GET", "/v1.44/containers/json?filters=notjson", None),
            ("POST", "/v1.44/containers/x/kill?signal=NOPE", None),
            ("GET", "/v1.44/images/%2e%2e%2f%2e%2e/json", None),
            ("DELETE", "/v1.44/volumes/..", None)]:
        st, _ = api_json(engine, method, path, body)
        assert 400 <= st < 500, (path, st)
    st, _ = api_json(engine, "GET", "/_ping")
    assert st == 200


# ---- docker-py ----

def test_docker_py(engine, names):
    docker = pytest.importorskip("docker")
    c = docker.DockerClient(base_url=engine.host, version="auto")
    assert c.ping()
    n = names()
    ctr = c.containers.run(engine.image, ["sh", "-c",
                                          "echo py-out; sleep 30"],
                           name=n, detach=True, labels={"via": "py"})
    deadline = time.time() + 10
    while b"py-out" not in ctr.logs():
        assert time.time() < deadline
        time.sleep(0.1)
    code, output = ctr.exec_run(["sh", "-c", "echo exec-py; exit 2"])
    assert code == 2 and output == b"exec-py\n"
    ctr.reload()
    assert ctr.status == "running" and ctr.labels["via"] == "py"
    assert [x.name for x in c.containers.list(filters={"label": "via=py"})] \
        == [n]
    ctr.kill()
    assert ctr.wait()["StatusCode"] == 137
    ctr.remove()
    with pytest.raises(docker.errors.NotFound):
        c.containers.get(n)
    assert c.containers.run(engine.image, ["echo", "done"], remove=True) == \
        b"done\n"
    assert any(engine.image in i.tags for i in c.images.list())
    v = c.volumes.create(n + "v")
    assert v.name == n + "v"
    v.remove()
    c.close()


def test_events_stream(engine, names):
    n = names()
    since = str(int(time.time()) - 1)
    engine.docker("run", "--name", n, engine.image, "true")
    r = engine.docker("events", "--since", since, "--until",
                      str(int(time.time()) + 1), "--filter",
                      f"container={n}", "--format", "{{.Action}}")
    acts = out(r).split()
    for a in ("create", "start", "die"):
        assert a in acts


# ---- daemon restarts kill nothing (keep last: restarts the daemon) ----

def test_daemon_kill9_and_restart(engine, names):
    live, ends = names(), names()
    engine.docker("run", "-d", "--name", live, engine.image, "sh", "-c",
                  "i=0; while true; do echo n$i; i=$((i+1)); sleep 0.1; done")
    engine.docker("run", "-d", "--name", ends, engine.image, "sh", "-c",
                  "sleep 1; exit 7")
    pid = int(out(engine.docker("inspect", "-f", "{{.State.Pid}}",
                                live)).strip())
    engine.stop_daemon(sig=9)
    time.sleep(2)
    os.kill(pid, 0)  # still running without the daemon
    engine.start()
    r = engine.docker("inspect", "-f", "{{.State.Status}} {{.State.Pid}}",
                      live)
    assert out(r).split() == ["running", str(pid)]
    r = engine.docker("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}",
                      ends)
    assert out(r).strip() == "exited 7"
    # It kept logging while the daemon was away.
    nums = [int(l[1:]) for l in out(engine.docker("logs", live)).split()]
    assert nums == list(range(len(nums))) and len(nums) > 15
    assert out(engine.docker("exec", live, "echo", "after")) == "after\n"
    engine.docker("stop", "-t", "1", live)
    engine.docker("rm", live, ends)
