"""The berth CLI against a private berthd: what a user types, what the
container saw, and docker's output, messages and exit codes."""
import json
import os
import re
import subprocess
import time

import pytest


def out(r):
    return r.stdout.decode(errors="replace")


def err(r):
    return r.stderr.decode(errors="replace")


@pytest.fixture
def names(engine, unique):
    made = []

    def make():
        n = f"{unique}c{len(made)}"
        made.append(n)
        return n
    yield make
    if made:
        engine.cli("rm", "-f", *made, check=False)


def test_run_attached_exit_code_and_streams(engine):
    r = engine.cli("run", "--rm", engine.image, "sh", "-c",
                   "echo out; echo err >&2; exit 3", check=False)
    assert r.returncode == 3
    assert out(r) == "out\n" and err(r) == "err\n"


def test_run_errors(engine):
    r = engine.cli("run", "--rm", "--pull", "never", "berth-test/missing:1",
                   check=False)
    assert r.returncode == 125
    assert "No such image" in err(r)
    r = engine.cli("run", "--rm", engine.image, "no-such-cmd", check=False)
    assert r.returncode == 127
    assert "executable file not found" in err(r)
    r = engine.cli("run", "--rm", "--memory", "lots", engine.image,
                   check=False)
    assert r.returncode == 125 and "invalid" in err(r)
    r = engine.cli("run", "--bogus-flag", engine.image, check=False)
    assert r.returncode == 125 and "unknown flag: --bogus-flag" in err(r)


def test_flags_reach_the_container(engine, tmp_path):
    (tmp_path / "f").write_text("bound\n")
    os.chmod(tmp_path, 0o755)
    os.chmod(tmp_path / "f", 0o644)
    r = engine.cli(
        "run", "--rm", "-e", "A=1", "-w", "/tmp", "-u", "1000",
        "--hostname", "hosty", "-v", f"{tmp_path}:/b:ro", "--read-only",
        "--cap-drop", "ALL", "--pids-limit", "50", engine.image, "sh", "-c",
        'echo "$A $(pwd) $(id -u) $(hostname) $(cat /b/f)";'
        "grep CapEff /proc/self/status; touch /x 2>/dev/null || echo ro")
    lines = out(r).splitlines()
    assert lines[0] == "1 /tmp 1000 hosty bound"
    assert lines[1].split()[1] == "0000000000000000"
    assert lines[2] == "ro"


def test_options_stop_at_the_image(engine):
    # Flags after the image belong to the command.
    r = engine.cli("run", "--rm", engine.image, "echo", "-n", "--rm", "x")
    assert out(r) == "--rm x"


def test_stdin_and_tty(engine):
    r = engine.cli("run", "-i", "--rm", engine.image, "tr", "a-z", "A-Z",
                   input=b"quiet\n")
    assert out(r) == "QUIET\n"
    cmd = (f"stty rows 19 cols 71; {engine.berth} -H {engine.host} run -it "
           f"--rm {engine.image} sh -c 'tty; stty size; exit 6'")
    r = subprocess.run(["script", "-qec", cmd, "/dev/null"],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=60)
    assert "/dev/pts/0" in out(r) and "19 71" in out(r)
    assert r.returncode == 6


def test_detached_lifecycle(engine, names):
    n = names()
    r = engine.cli("run", "-d", "--name", n, "-l", "role=test", engine.image,
                   "sh", "-c", "echo ready; exec sleep 1000")
    cid = out(r).strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    deadline = time.time() + 10
    while "ready" not in out(engine.cli("logs", n)):
        assert time.time() < deadline
        time.sleep(0.05)
    r = engine.cli("ps", "--filter", "label=role=test", "--format",
                   "{{.ID}} {{.Names}} {{.State}}")
    assert out(r).strip() == f"{cid[:12]} {n} running"
    r = engine.cli("ps")
    header = out(r).splitlines()[0]
    assert re.match(r"CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+"
                    r"PORTS\s+NAMES", header)
    assert n in out(r)
    r = engine.cli("exec", n, "sh", "-c", "echo from-exec; exit 7",
                   check=False)
    assert r.returncode == 7 and out(r) == "from-exec\n"
    r = engine.cli("exec", "-i", n, "cat", input=b"through exec\n")
    assert out(r) == "through exec\n"
    r = engine.cli("inspect", "-f", "{{.State.Running}} {{.Config.Labels.role}}",
                   n)
    assert out(r).strip() == "true test"
    data = json.loads(out(engine.cli("inspect", n)))
    assert data[0]["Id"] == cid
    engine.cli("kill", "-s", "KILL", n)
    r = engine.cli("wait", n)
    assert out(r).strip() == "137"
    engine.cli("start", n)
    engine.cli("restart", "-t", "0", n)
    r = engine.cli("top", n)
    assert "sleep" in out(r)
    engine.cli("stop", "-t", "0", n)
    r = engine.cli("ps", "-a", "-q", "--filter", f"name={n}")
    assert out(r).strip() == cid[:12]
    engine.cli("rm", n)
    r = engine.cli("inspect", n, check=False)
    assert r.returncode == 1 and f"No such object: {n}" in err(r)


def test_logs_follow(engine, names):
    n = names()
    engine.cli("run", "-d", "--name", n, engine.image, "sh", "-c",
               "for i in 1 2 3; do echo line$i; sleep 0.3; done")
    r = engine.cli("logs", "-f", n, timeout=30)
    assert out(r) == "line1\nline2\nline3\n"
    r = engine.cli("logs", "--tail", "1", "-t", n)
    assert re.fullmatch(r"\S+Z line3\n", out(r))


def test_errors_and_usage(engine):
    r = engine.cli("rm", "no-such-container-x", check=False)
    assert r.returncode == 1
    assert "No such container: no-such-container-x" in err(r)
    r = engine.cli("stop", check=False)
    assert r.returncode == 1
    assert '"berth stop" requires at least 1 argument.' in err(r)
    r = engine.cli("frobnicate", check=False)
    assert r.returncode == 1 and "is not a berth command" in err(r)
    for cmd in ("run", "ps", "exec", "logs", "images", "volume", "inspect"):
        r = engine.cli(cmd, "--help")
        assert "Usage:" in out(r), cmd
    r = subprocess.run([engine.berth, "-H", "unix:///nonexistent.sock",
                        "ps"], capture_output=True, timeout=30)
    assert r.returncode != 0 and "Cannot connect" in err(r)


def test_images_save_load_import(engine, tmp_path):
    r = engine.cli("images")
    assert re.match(r"REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE",
                    out(r).splitlines()[0])
    engine.cli("tag", engine.image, "berth-test/cli:v1")
    arch = tmp_path / "img.tar"
    engine.cli("save", "-o", str(arch), "berth-test/cli:v1")
    r = engine.cli("rmi", "berth-test/cli:v1")
    assert "Untagged: berth-test/cli:v1" in out(r)
    r = engine.cli("load", "-i", str(arch))
    assert "Loaded image: berth-test/cli:v1" in out(r)
    # The archive is what docker load reads.
    r = engine.docker("load", "-i", str(arch))
    assert "berth-test/cli:v1" in out(r)
    engine.cli("rmi", "berth-test/cli:v1")
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    subprocess.run(["cp", "/bin/busybox", str(root / "bin" / "sh")],
                   check=True)
    tar = subprocess.run(["tar", "-C", str(root), "-c", "."],
                         capture_output=True, check=True).stdout
    r = engine.cli("import", "-c", "ENV X=imported", "-", "berth-test/imp:1",
                   input=tar)
    assert out(r).startswith("sha256:")
    r = engine.cli("run", "--rm", "berth-test/imp:1", "sh", "-c", "echo $X")
    assert out(r) == "imported\n"
    r = engine.cli("images", "--format", "{{.Repository}}:{{.Tag}}")
    assert "berth-test/imp:1" in out(r).split()
    engine.cli("rmi", "berth-test/imp:1")


def test_volumes(engine, unique):
    v = unique + "v"
    assert out(engine.cli("volume", "create", v)).strip() == v
    try:
        engine.cli("run", "--rm", "-v", f"{v}:/data", engine.image, "sh",
                   "-c", "echo keep > /data/k")
        r = engine.cli("run", "--rm", "--mount",
                       f"type=volume,source={v},target=/d", engine.image,
                       "cat", "/d/k")
        assert out(r) == "keep\n"
        r = engine.cli("volume", "ls", "--format", "{{.Name}}")
        assert v in out(r).split()
        r = engine.cli("volume", "inspect", "-f", "{{.Driver}}", v)
        assert out(r).strip() == "local"
    finally:
        engine.cli("volume", "rm", v, check=False)
    r = engine.cli("volume", "rm", v, check=False)
    assert r.returncode == 1


def test_format_templates(engine, names):
    n = names()
    engine.cli("create", "--name", n, "-l", "a=1", "-l", "b=2", "-e", "K=V",
               engine.image, "echo", "x", "y")
    cases = {
        "{{.Name}}": f"/{n}",
        "{{json .Config.Cmd}}": '["echo","x","y"]',
        "{{join .Config.Cmd \",\"}}": "echo,x,y",
        "{{index .Config.Labels \"b\"}}": "2",
        "{{range .Config.Env}}{{.}};{{end}}": None,
        "{{range $k, $v := .Config.Labels}}{{$k}}={{$v}} {{end}}": "a=1 b=2 ",
        "{{if .State.Running}}up{{else}}down{{end}}": "down",
        "{{upper .State.Status}}": "CREATED",
        "{{len .Config.Cmd}}": "3",
        "{{printf \"%s-%d\" .Name .State.ExitCode}}": f"/{n}-0",
    }
    for fmt, want in cases.items():
        r = engine.cli("inspect", "-f", fmt, n)
        got = out(r).rstrip("\n")
        if want is None:
            assert "K=V;" in got
        else:
            assert got == want, fmt
    r = engine.cli("ps", "-a", "--filter", f"name={n}", "--format",
                   "table {{.Names}}\t{{.Status}}")
    lines = out(r).splitlines()
    assert re.match(r"NAMES\s+STATUS", lines[0])
    assert lines[1].startswith(n)
    r = engine.cli("ps", "-a", "--filter", f"name={n}", "--format", "json")
    assert json.loads(out(r))["Names"] == n
    r = engine.cli("inspect", "-f", "{{.Nope", n, check=False)
    assert r.returncode != 0 and "template" in err(r)
