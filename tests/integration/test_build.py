"""berth build: Dockerfiles into images through the berth CLI, the docker
CLI's classic builder (DOCKER_BUILDKIT=0) and docker-py; the cache; bad
input; and the same Dockerfiles built by dockerd 20.10 for comparison."""
import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import Engine

APP = """\
FROM {image}
ARG V=1
ENV A=b PATHX=$V
WORKDIR /app
COPY a.txt .
COPY sub /app/sub/
RUN echo "running $V $A" && echo data > /app/run.txt
LABEL x=y
COPY late.txt /app/
CMD ["cat", "/app/run.txt"]
"""


def write(d, files):
    for name, content in files.items():
        p = os.path.join(d, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(content)
    return d


@pytest.fixture
def ctx(tmp_path):
    def make(dockerfile, files=None):
        d = tmp_path / ("ctx%d" % len(list(tmp_path.iterdir())))
        d.mkdir()
        write(str(d), {"Dockerfile": dockerfile, **(files or {})})
        return str(d)
    return make


def build(engine, *args, check=True, input=None):
    r = engine.cli("build", *args, check=False, input=input, timeout=120)
    out = r.stdout.decode(errors="replace")
    err = r.stderr.decode(errors="replace")
    if check:
        assert r.returncode == 0, f"build failed ({r.returncode}): {out}{err}"
    return r.returncode, out, err


def image_config(engine, ref, cli="cli"):
    r = getattr(engine, cli)("image", "inspect", ref)
    return json.loads(r.stdout)[0]


def run_out(engine, image, *cmd):
    r = engine.cli("run", "--rm", "--network", "none", image, *cmd)
    return r.stdout.decode()


def test_build_run_and_cache(engine, ctx, unique):
    d = ctx(APP.format(image=engine.image),
            {"a.txt": "hello\n", "sub/y": "x\n", "late.txt": "1\n"})
    tag = unique + "-app:1"
    rc, out, _ = build(engine, "-t", tag, d)
    assert "Step 10/10 : CMD" in out
    assert "running 1 b" in out
    assert f"Successfully tagged {tag}" in out
    assert run_out(engine, tag) == "data\n"
    assert run_out(engine, tag, "cat", "/app/a.txt", "/app/sub/y",
                   "/app/late.txt") == "hello\nx\n1\n"
    cfg = image_config(engine, tag)["Config"]
    assert cfg["WorkingDir"] == "/app"
    assert "A=b" in cfg["Env"] and "PATHX=1" in cfg["Env"]
    assert cfg["Labels"] == {"x": "y"}
    # Nothing changed: every step from the cache, the same image.
    rc, out2, _ = build(engine, "-t", tag, d)
    assert out2.count("Using cache") == 9
    first = re.findall(r"Successfully built (\w+)", out)[0]
    assert re.findall(r"Successfully built (\w+)", out2)[0] == first
    # The file the 9th step copies changed: steps 1-8 cached, 9-10 not.
    write(d, {"late.txt": "2\n"})
    rc, out3, _ = build(engine, "-t", tag, d)
    steps = out3.split("Step ")
    assert all("Using cache" in s for s in steps[2:9]), out3
    assert "Using cache" not in steps[9] and "Using cache" not in steps[10]
    assert run_out(engine, tag, "cat", "/app/late.txt") == "2\n"
    # A build arg changes the RUN step and what follows it.
    rc, out4, _ = build(engine, "--build-arg", "V=7", "-t", tag, d)
    assert "running 7 b" in out4
    # --no-cache runs everything again.
    rc, out5, _ = build(engine, "--no-cache", "-t", tag, d)
    assert "Using cache" not in out5 and "running 1 b" in out5
    # Intermediate images: hidden from `images`, shown by `images -a`.
    ls = engine.cli("images", "-q").stdout.decode().split()
    la = engine.cli("images", "-aq").stdout.decode().split()
    assert len(la) > len(ls)
    # rmi takes the untagged steps with it.
    last = re.findall(r"Successfully built (\w+)", out5)[0]
    rmi = engine.cli("rmi", tag).stdout.decode()
    assert "Deleted: sha256:" + last in rmi
    after = engine.cli("images", "-aq").stdout.decode().split()
    assert last[:12] not in after
    assert len(after) < len(la)


def test_cache_survives_daemon_restart(engine, ctx, unique):
    d = ctx(f"FROM {engine.image}\nRUN echo once > /f\n")
    build(engine, "-t", unique + "-r", d)
    engine.restart_daemon()
    _, out, _ = build(engine, "-t", unique + "-r", d)
    assert "Using cache" in out and "Running in" not in out


def test_docker_cli_classic_builder(engine, ctx, unique):
    d = ctx(APP.format(image=engine.image),
            {"a.txt": "hello\n", "sub/y": "x\n", "late.txt": "1\n"})
    env = engine.env()
    env["DOCKER_BUILDKIT"] = "0"
    tag = unique + "-dk"
    r = subprocess.run(["docker", "build", "-t", tag, "--build-arg", "V=5",
                        d], env=env, capture_output=True, timeout=120)
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr.decode()
    assert "Successfully built" in out and f"Successfully tagged {tag}" in out
    assert "running 5 b" in out
    r = engine.docker("run", "--rm", "--network", "none", tag)
    assert r.stdout == b"data\n"
    # -f from outside the context, and a failing RUN's exit status.
    other = os.path.join(os.path.dirname(d), "Dockerfile.fail")
    with open(other, "w") as f:
        f.write(f"FROM {engine.image}\nRUN echo out; exit 3\n")
    r = subprocess.run(["docker", "build", "-f", other, d], env=env,
                       capture_output=True, timeout=120)
    assert r.returncode == 3
    assert b"returned a non-zero code: 3" in r.stderr
    assert b"out" in r.stdout


def test_docker_py_build(engine, ctx, unique):
    docker = pytest.importorskip("docker")
    c = docker.DockerClient(base_url=engine.host, version="auto", timeout=120)
    d = ctx(f"FROM {engine.image}\nARG X=def\nRUN echo $X > /x\n"
            "CMD [\"cat\", \"/x\"]\n")
    img, logs = c.images.build(path=d, tag=unique + "-py",
                               buildargs={"X": "fromPy"})
    text = "".join(m.get("stream", "") for m in logs)
    assert "Successfully built" in text
    assert unique + "-py:latest" in img.tags
    out = c.containers.run(img.id, network_mode="none", remove=True)
    assert out == b"fromPy\n"
    with pytest.raises(docker.errors.BuildError) as ei:
        c.images.build(path=ctx(f"FROM {engine.image}\nRUN exit 4\n"))
    assert "non-zero code: 4" in str(ei.value)
    c.close()


def test_multistage_target_and_copy_from(engine, ctx, unique):
    df = f"""\
ARG BASE={engine.image}
FROM $BASE AS build
RUN mkdir -p /out && echo built > /out/bin && chown 1000:1000 /out/bin
FROM build AS unused
RUN echo this stage must not run; exit 1
FROM $BASE AS final
COPY --from=build /out/bin /usr/local/bin/tool
COPY --from=0 /out /copied
COPY --from={engine.image} /etc/passwd /passwd.copy
USER 1000
WORKDIR rel
CMD ["cat", "/usr/local/bin/tool"]
FROM final AS later
RUN exit 2
"""
    d = ctx(df)
    tag = unique + "-ms"
    _, out, _ = build(engine, "--target", "final", "-t", tag, d)
    assert "must not run" not in out and "Step 1/" in out
    assert run_out(engine, tag) == "built\n"
    # COPY --from keeps the owner it had in the stage.
    st = run_out(engine, tag, "stat", "-c", "%u:%g", "/copied/bin",
                 "/usr/local/bin/tool")
    assert st == "1000:1000\n1000:1000\n"
    cfg = image_config(engine, tag)["Config"]
    assert cfg["User"] == "1000" and cfg["WorkingDir"] == "/rel"
    rc, _, err = build(engine, "--target", "nope", d, check=False)
    assert rc != 0 and "nope" in err


def test_dockerignore_heredoc_chown_healthcheck_onbuild(engine, ctx, unique):
    d = ctx(f"""\
FROM {engine.image}
COPY . /ctx/
COPY --chown=tester:extra keep.txt /owned
COPY --chmod=0750 keep.txt /moded
HEALTHCHECK --interval=5s --timeout=2s --retries=4 CMD test -f /ctx/keep.txt
SHELL ["/bin/sh", "-ec"]
RUN <<EOF
echo from heredoc > /here
EOF
STOPSIGNAL SIGTERM
VOLUME /data
EXPOSE 8080/udp 9000-9001
ONBUILD RUN echo triggered > /trig
""", {"keep.txt": "k\n", "secret.key": "s\n", "logs/a.log": "l\n",
      "logs/keep.log": "kl\n",
      ".dockerignore": "*.key\nlogs\n!logs/keep.log\n"})
    base = unique + "-ob"
    build(engine, "-t", base, d)
    ls = run_out(engine, base, "find", "/ctx", "-type", "f")
    assert "/ctx/keep.txt" in ls and "/ctx/logs/keep.log" in ls
    assert "secret.key" not in ls and "a.log" not in ls
    assert run_out(engine, base, "stat", "-c", "%u:%g %a", "/owned",
                   "/moded") == "1000:2000 644\n0:0 750\n"
    assert run_out(engine, base, "cat", "/here") == "from heredoc\n"
    cfg = image_config(engine, base)["Config"]
    assert cfg["Healthcheck"] == {"Test": ["CMD-SHELL",
                                           "test -f /ctx/keep.txt"],
                                  "Interval": 5000000000,
                                  "Timeout": 2000000000, "Retries": 4}
    assert cfg["Shell"] == ["/bin/sh", "-ec"]
    assert cfg["StopSignal"] == "SIGTERM"
    assert cfg["Volumes"] == {"/data": {}}
    assert set(cfg["ExposedPorts"]) == {"8080/udp", "9000/tcp", "9001/tcp"}
    assert cfg["OnBuild"] == ["RUN echo triggered > /trig"]
    # A child of it runs the trigger, and does not inherit it.
    child = ctx(f"FROM {base}\n")
    _, out, _ = build(engine, "-t", unique + "-child", child)
    assert "Executing 1 build trigger" in out
    assert run_out(engine, unique + "-child", "cat", "/trig") == \
        "triggered\n"
    assert not image_config(engine, unique + "-child")["Config"].get(
        "OnBuild")


def test_context_from_stdin_quiet_iidfile_labels(engine, tmp_path, unique):
    df = f"FROM {engine.image}\nRUN echo stdin > /s\n".encode()
    iid = tmp_path / "iid"
    rc, out, _ = build(engine, "-q", "--iidfile", str(iid), "--label",
                       "org.x=1", "-t", unique + "-stdin", "-", input=df)
    assert out.strip().startswith("sha256:") and "Step" not in out
    assert iid.read_text() == out.strip()
    cfg = image_config(engine, unique + "-stdin")["Config"]
    assert cfg["Labels"] == {"org.x": "1"}
    # A tar on stdin is the context.
    d = tmp_path / "t"
    d.mkdir()
    (d / "Dockerfile").write_text(f"FROM {engine.image}\nCOPY f /f\n")
    (d / "f").write_text("tar ctx\n")
    tar = subprocess.run(["tar", "-C", str(d), "-cz", "."],
                         capture_output=True, check=True).stdout
    build(engine, "-t", unique + "-tar", "-", input=tar)
    assert run_out(engine, unique + "-tar", "cat", "/f") == "tar ctx\n"


def test_bad_input(engine, ctx, tmp_path, unique):
    cases = [
        ("FROM {i}\nFORM x\n", "line 2: unknown instruction: FORM"),
        ("RUN true\n", "FROM"),
        ("FROM {i}\nCOPY ../x /\n", "outside the build context"),
        ("FROM {i}\nCOPY nothere /\n", "nothere"),
        ("FROM {i}\nCOPY --from=nostage /x /\n", "nostage"),
        ("FROM {i}\nCOPY a b c\n", "must be a directory"),
        ("FROM scratch\n", "No image was generated"),
    ]
    for df, want in cases:
        d = ctx(df.format(i=engine.image), {"a": "1", "b": "2"})
        rc, out, err = build(engine, d, check=False)
        assert rc != 0, df
        if want:
            assert want in out + err, (df, out, err)
    # An invalid tag is refused before anything is built.
    d = ctx(f"FROM {engine.image}\nRUN echo SHOULD-NOT-RUN\n")
    rc, out, err = build(engine, "-t", "Bad:Tag", d, check=False)
    assert rc != 0 and "SHOULD-NOT-RUN" not in out


def test_symlinks_stay_symlinks(engine, ctx, unique):
    d = ctx(f"FROM {engine.image}\nCOPY . /c/\nCOPY link /l\n",
            {"real": "r\n"})
    os.symlink("/etc/shadow", os.path.join(d, "link"))
    os.symlink("real", os.path.join(d, "rel"))
    tag = unique + "-ln"
    build(engine, "-t", tag, d)
    out = run_out(engine, tag, "sh", "-c",
                  "readlink /c/link; readlink /l; readlink /c/rel; cat /c/rel")
    assert out == "/etc/shadow\n/etc/shadow\nreal\nr\n"
    # Reading it inside gives the image's file (none here), never the
    # host's.
    r = engine.cli("run", "--rm", "--network", "none", tag, "cat", "/l",
                   check=False)
    assert r.returncode != 0 and b"root:" not in r.stdout


def test_failed_step_keeps_cache_and_leaves_nothing(engine, ctx, unique):
    d = ctx(f"FROM {engine.image}\nRUN echo step1 > /one\nRUN exit 7\n")
    before = engine.cli("ps", "-aq").stdout.split()
    rc, out, err = build(engine, d, check=False)
    assert rc == 7 and "returned a non-zero code: 7" in err
    assert engine.cli("ps", "-aq").stdout.split() == before
    tmp = os.path.join(engine.data_root, "image", "tmp")
    assert not [n for n in os.listdir(tmp) if n.startswith("build")]
    with open("/proc/mounts") as f:
        assert engine.data_root + "/image/tmp" not in f.read()
    rc, out, _ = build(engine, d, check=False)
    assert out.split("Step 3/3")[0].count("Using cache") == 1


def test_run_steps_get_the_default_security_profile(engine, ctx, unique):
    d = ctx(f"FROM {engine.image}\n"
            "RUN grep -E '^(CapBnd|Seccomp|NoNewPrivs):' /proc/self/status "
            "> /status\n")
    tag = unique + "-sec"
    build(engine, "-t", tag, d)
    st = run_out(engine, tag, "cat", "/status")
    assert "CapBnd:\t00000000a80425fb" in st
    assert "Seccomp:\t2" in st


# ---- the same Dockerfiles through dockerd 20.10 ----

COMPARE = [
    APP,
    """\
FROM {image} AS b
ARG N=3
ENV N2=${{N}}x HOME=/root
RUN echo $N2 > /n
FROM {image}
COPY --from=b /n /n
USER 1000:1000
WORKDIR /w
WORKDIR sub
EXPOSE 80 53/udp
VOLUME ["/v1", "/v2"]
STOPSIGNAL SIGUSR1
HEALTHCHECK --interval=10s CMD ["true"]
ENTRYPOINT ["sh", "-c"]
LABEL a=1 b="two words"
ONBUILD RUN true
""",
    """\
FROM {image}
SHELL ["/bin/sh", "-xc"]
ENV X=1
CMD echo $X
ENTRYPOINT echo ep
""",
]

FIELDS = ["Cmd", "Entrypoint", "Env", "WorkingDir", "User", "ExposedPorts",
          "Volumes", "Labels", "Healthcheck", "OnBuild", "Shell",
          "StopSignal"]


@pytest.fixture(scope="module")
def dockerd():
    if not shutil.which("dockerd"):
        pytest.skip("dockerd not installed")
    old = os.environ.get("BERTH_TEST_ENGINE")
    os.environ["BERTH_TEST_ENGINE"] = "dockerd"
    e = Engine()
    if old is None:
        del os.environ["BERTH_TEST_ENGINE"]
    else:
        os.environ["BERTH_TEST_ENGINE"] = old
    try:
        e.start()
        e.load_busybox()
        yield e
    finally:
        e.teardown()


def norm(v):
    return v if v not in ({}, [], "", None) else None


def history(e, ref):
    out = subprocess.run(["docker", "history", "--no-trunc", "--format",
                          "{{.CreatedBy}}", ref], env=e.env(),
                         capture_output=True, check=True).stdout.decode()
    lines = [re.sub(r"(file|dir|multi):[0-9a-f]+", r"\1:H", ln)
             for ln in out.splitlines()]
    return lines[:-1]  # the imported base differs


@pytest.mark.parametrize("k", range(len(COMPARE)))
def test_same_config_as_dockerd(engine, dockerd, tmp_path, k, unique):
    files = {"a.txt": "hello\n", "sub/y": "x\n", "late.txt": "1\n"}
    configs, hists = [], []
    for e in (engine, dockerd):
        d = tmp_path / e.kind
        d.mkdir()
        write(str(d), {"Dockerfile": COMPARE[k].format(image=e.image),
                       **files})
        env = e.env()
        env["DOCKER_BUILDKIT"] = "0"
        tag = f"{unique}-cmp{k}"
        r = subprocess.run(["docker", "build", "--network", "none", "-t",
                            tag, str(d)], env=env, capture_output=True,
                           timeout=180)
        assert r.returncode == 0, (e.kind, r.stdout, r.stderr)
        cfg = json.loads(e.docker("image", "inspect", tag).stdout)[0]
        configs.append({f: norm(cfg["Config"].get(f)) for f in FIELDS})
        hists.append(history(e, tag))
    assert configs[0] == configs[1]
    assert hists[0] == hists[1]


def test_context_tar_cannot_escape(engine, tmp_path, unique):
    """A hostile context (the API takes any tar): entries and hard links
    that climb out of the context are refused, nothing lands outside."""
    import io
    import tarfile
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim"
    victim.write_text("keep\n")
    df = f"FROM {engine.image}\nCOPY . /c/\n".encode()
    cases = []
    for kind in ("dotdot", "abs", "hardlink"):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as t:
            ti = tarfile.TarInfo("Dockerfile")
            ti.size = len(df)
            t.addfile(ti, io.BytesIO(df))
            if kind == "dotdot":
                ti = tarfile.TarInfo("../../../../../../" + str(victim)[1:])
                ti.size = 4
                t.addfile(ti, io.BytesIO(b"evil"))
            elif kind == "abs":
                ti = tarfile.TarInfo(str(victim))
                ti.size = 4
                t.addfile(ti, io.BytesIO(b"evil"))
            else:
                ti = tarfile.TarInfo("link")
                ti.type = tarfile.LNKTYPE
                ti.linkname = "../../../../../../" + str(victim)[1:]
                t.addfile(ti)
        cases.append((kind, buf.getvalue()))
    for kind, data in cases:
        rc, out, err = build(engine, "-t", unique + "-esc", "-", input=data,
                             check=False)
        assert rc != 0, kind
        assert "leaves the context" in err, (kind, err)
        assert victim.read_text() == "keep\n"
