"""The berth CLI's side of registries: pull, push, login, logout, run's
pull of a missing image, and images --digests.

Two kinds of tests:

- Against the `engine` fixture (a private berthd, or dockerd with
  BERTH_TEST_ENGINE=dockerd) and a reference registry (Debian's
  docker-registry) on 127.0.0.1, which this file starts itself; images get
  into it with skopeo from an OCI layout built here, so no engine is
  needed to seed it.
- Side by side with docker's CLI 28 against a small fake daemon that
  replays canned answers: the same stream must be drawn byte for byte the
  same (on a pipe and on a terminal), the same requests must be sent, and
  the same config.json written.

All traffic stays on 127.0.0.1; every process started here is stopped by
its pid; every directory made here is under /tmp and removed.
"""
import base64
import gzip
import hashlib
import http.server
import io
import json
import os
import shutil
import signal
import socket
import socketserver
import stat
import subprocess
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.request

import pytest

from conftest import DOCKER, make_busybox_rootfs

ESC = "\x1b"


def out(r):
    return r.stdout.decode(errors="replace")


def err(r):
    return r.stderr.decode(errors="replace")


def need(*tools):
    for t in tools:
        if not shutil.which(t):
            pytest.skip(f"{t} is not installed")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---- a reference registry on loopback ----

class Registry:
    def __init__(self, auth=None):
        self.dir = tempfile.mkdtemp(prefix="berth-cli-reg-", dir="/tmp")
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.auth = auth
        cfg = {
            "version": 0.1,
            "log": {"level": "error"},
            "storage": {"filesystem": {
                "rootdirectory": os.path.join(self.dir, "data")}},
            "http": {"addr": self.host},
        }
        if auth:
            pw = subprocess.run(["htpasswd", "-Bbn", *auth],
                                capture_output=True, check=True).stdout
            path = os.path.join(self.dir, "htpasswd")
            with open(path, "wb") as f:
                f.write(pw)
            cfg["auth"] = {"htpasswd": {"realm": "berth-test", "path": path}}
        # JSON is YAML.
        self.config = os.path.join(self.dir, "config.yml")
        with open(self.config, "w") as f:
            json.dump(cfg, f)
        self.log = open(os.path.join(self.dir, "registry.log"), "wb")
        self.proc = subprocess.Popen(
            ["docker-registry", "serve", self.config], stdout=self.log,
            stderr=self.log, start_new_session=True)
        end = time.time() + 20
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("docker-registry exited")
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("docker-registry did not listen")

    def get(self, path, accept=None):
        req = urllib.request.Request(f"http://{self.host}{path}")
        if self.auth:
            tok = base64.b64encode(":".join(self.auth).encode()).decode()
            req.add_header("Authorization", "Basic " + tok)
        if accept:
            req.add_header("Accept", accept)
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _blob(layout, data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return "sha256:" + d


def _tar_gz(files):
    """files: {path: bytes} (a dir when bytes is None) -> (gz, diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as t:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.mtime = 0
            if data is None:
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
                t.addfile(ti)
            else:
                ti.size = len(data)
                ti.mode = 0o755
                t.addfile(ti, io.BytesIO(data))
    raw = raw.getvalue()
    return gzip.compress(raw, mtime=0), "sha256:" + hashlib.sha256(
        raw).hexdigest()


def make_oci_layout(d, tag, extra=b"extra\n"):
    """A two-layer busybox image (rootfs, one more file) as an OCI layout."""
    os.makedirs(os.path.join(d, "blobs", "sha256"))
    rootfs = make_busybox_rootfs(os.path.join(d, "rootfs"))
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as t:
        t.add(rootfs, arcname=".")
    raw = raw.getvalue()
    l1 = gzip.compress(raw, mtime=0)
    d1 = "sha256:" + hashlib.sha256(raw).hexdigest()
    l2, d2 = _tar_gz({"etc": None, "etc/berth-extra": extra})
    shutil.rmtree(rootfs)
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["sh"], "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [d1, d2]},
        "history": [{"created_by": "busybox"}, {"created_by": "extra"}],
    }).encode()
    layers = []
    for data in (l1, l2):
        layers.append({"mediaType":
                       "application/vnd.oci.image.layer.v1.tar+gzip",
                       "digest": _blob(d, data), "size": len(data)})
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": _blob(d, config), "size": len(config)},
        "layers": layers}).encode()
    md = _blob(d, manifest)
    with open(os.path.join(d, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": OCI_MANIFEST, "digest": md, "size": len(manifest),
            "annotations": {"org.opencontainers.image.ref.name": tag}}]}, f)
    with open(os.path.join(d, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    return md


def seed(registry, repo, tag, extra=b"extra\n"):
    """Put a fresh image at registry/repo:tag; returns its digest."""
    d = tempfile.mkdtemp(prefix="berth-cli-oci-", dir="/tmp")
    try:
        digest = make_oci_layout(os.path.join(d, "l"), tag, extra)
        cmd = ["skopeo", "--insecure-policy", "copy", "--quiet",
               "--dest-tls-verify=false"]
        if registry.auth:
            cmd += ["--dest-creds", ":".join(registry.auth)]
        cmd += [f"oci:{d}/l:{tag}", f"docker://{registry.host}/{repo}:{tag}"]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
        return digest
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def registry():
    need("docker-registry", "skopeo")
    r = Registry()
    try:
        r.busybox = seed(r, "busybox", "1")
        seed(r, "busybox", "latest")
        yield r
    finally:
        r.stop()


@pytest.fixture(scope="module")
def auth_registry():
    need("docker-registry", "skopeo", "htpasswd")
    r = Registry(auth=("berth", "s3cret"))
    try:
        r.busybox = seed(r, "private", "1")
        yield r
    finally:
        r.stop()


# ---- running the CLI ----

class VersionProxy:
    """berth speaks API 1.44; dockerd 20.10 stops at 1.41.  For runs
    against dockerd the CLI goes through this proxy, which rewrites the
    version in request lines and passes everything else through."""

    def __init__(self, target):
        self.dir = tempfile.mkdtemp(prefix="berth-cli-proxy-", dir="/tmp")
        self.path = os.path.join(self.dir, "proxy.sock")
        self.target = target
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(self.path)
        self.srv.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            u.connect(self.target)
            threading.Thread(target=self._pump, args=(c, u, True),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(u, c, False),
                             daemon=True).start()

    @staticmethod
    def _pump(a, b, rewrite):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                if rewrite:
                    d = d.replace(b" /v1.44/", b" /v1.41/")
                b.sendall(d)
        except OSError:
            pass
        try:
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self):
        self.srv.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def host(engine):
    """The daemon address the berth CLI uses."""
    if engine.kind == "dockerd":
        p = VersionProxy(engine.sock)
        yield "unix://" + p.path
        p.close()
    else:
        yield engine.host


@pytest.fixture
def cfgdir():
    d = tempfile.mkdtemp(prefix="berth-cli-cfg-", dir="/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def berth(engine, host, *args, cfg, input=None, env=None, check=False,
          timeout=180):
    e = engine.env()
    e["BERTH_HOST"] = host
    e["DOCKER_CONFIG"] = cfg
    e.pop("DOCKER_DEFAULT_PLATFORM", None)
    e.update(env or {})
    r = subprocess.run([engine.berth, *args], env=e, input=input,
                       capture_output=True, timeout=timeout,
                       stdin=None if input is not None else subprocess.DEVNULL)
    if check and r.returncode != 0:
        raise AssertionError(f"berth {' '.join(args)} failed "
                             f"({r.returncode}): {err(r)}")
    return r


def remove_image(engine, host, cfg, *refs):
    berth(engine, host, "rmi", "-f", *refs, cfg=cfg)


# ---- against the engine and a real registry ----

def test_pull_output_and_result(engine, host, registry, cfgdir):
    ref = f"{registry.host}/busybox:1"
    remove_image(engine, host, cfgdir, ref)
    r = berth(engine, host, "pull", ref, cfg=cfgdir, check=True)
    lines = out(r).splitlines()
    assert ESC not in out(r), "no cursor movement off a terminal"
    assert lines[0] == "1: Pulling from busybox"
    assert lines[-1] == ref
    assert f"Digest: {registry.busybox}" in lines
    assert f"Status: Downloaded newer image for {ref}" in lines
    layer_lines = [l for l in lines if l.endswith(": Pull complete")]
    assert len(layer_lines) == 2
    assert err(r) == ""
    # Now it is there: docker says so, and lists its digest.
    r = berth(engine, host, "pull", ref, cfg=cfgdir, check=True)
    assert f"Status: Image is up to date for {ref}" in out(r)
    r = berth(engine, host, "images", "--digests", "--format",
              "{{.Repository}} {{.Tag}} {{.Digest}}", cfg=cfgdir, check=True)
    assert f"{registry.host}/busybox 1 {registry.busybox}" in out(r)
    r = berth(engine, host, "images", "--digests", cfg=cfgdir, check=True)
    head = out(r).splitlines()[0].split()
    assert head[:4] == ["REPOSITORY", "TAG", "DIGEST", "IMAGE"]
    r = berth(engine, host, "image", "inspect", "-f", "{{json .RepoDigests}}",
              ref, cfg=cfgdir, check=True)
    assert f"{registry.host}/busybox@{registry.busybox}" in json.loads(out(r))


def test_pull_quiet_default_tag_and_digest(engine, host, registry, cfgdir):
    name = f"{registry.host}/busybox"
    r = berth(engine, host, "pull", "-q", name + ":1", cfg=cfgdir, check=True)
    assert out(r) == name + ":1\n"
    r = berth(engine, host, "pull", name, cfg=cfgdir, check=True)
    assert out(r).splitlines()[0] == "Using default tag: latest"
    assert out(r).splitlines()[-1] == name + ":latest"
    r = berth(engine, host, "pull", "-q", f"{name}@{registry.busybox}",
              cfg=cfgdir, check=True)
    assert out(r) == f"{name}@{registry.busybox}\n"


def test_pull_errors(engine, host, registry, cfgdir):
    r = berth(engine, host, "pull", f"{registry.host}/busybox:nope",
              cfg=cfgdir)
    assert r.returncode == 1 and err(r).strip()
    r = berth(engine, host, "pull", "-a", f"{registry.host}/busybox:1",
              cfg=cfgdir)
    assert (r.returncode, err(r)) == (
        1, "tag can't be used with --all-tags/-a\n")
    r = berth(engine, host, "pull", "UPPER", cfg=cfgdir)
    assert (r.returncode, err(r)) == (
        1, "invalid reference format: repository name (library/UPPER) "
           "must be lowercase\n")
    r = berth(engine, host, "pull", cfg=cfgdir)
    assert r.returncode == 1 and "requires" in err(r)


def test_push(engine, host, registry, cfgdir):
    src = f"{registry.host}/busybox:1"
    dst = f"{registry.host}/pushed:1"
    berth(engine, host, "pull", "-q", src, cfg=cfgdir, check=True)
    berth(engine, host, "tag", src, dst, cfg=cfgdir, check=True)
    r = berth(engine, host, "push", dst, cfg=cfgdir, check=True)
    lines = out(r).splitlines()
    assert lines[0] == f"The push refers to repository [{registry.host}/pushed]"
    assert ESC not in out(r)
    assert any(l.startswith("1: digest: sha256:") and " size: " in l
               for l in lines), lines
    status, _, body = registry.get("/v2/pushed/tags/list")
    assert json.loads(body)["tags"] == ["1"]
    r = berth(engine, host, "push", "-q", dst, cfg=cfgdir, check=True)
    assert out(r) == dst + "\n"
    r = berth(engine, host, "push", f"{registry.host}/pushed@{registry.busybox}",
              cfg=cfgdir)
    assert (r.returncode, err(r)) == (1, "cannot push a digest reference\n")


def test_login_pull_logout(engine, host, auth_registry, cfgdir):
    reg = auth_registry.host
    ref = f"{reg}/private:1"
    cfg = os.path.join(cfgdir, "config.json")
    other = base64.b64encode(b"x:y").decode()
    with open(cfg, "w") as f:
        json.dump({"auths": {"other.example:5000": {"auth": other}},
                   "psFormat": "table {{.ID}}", "detachKeys": "ctrl-x"}, f)
    os.chmod(cfg, 0o600)
    remove_image(engine, host, cfgdir, ref)
    r = berth(engine, host, "pull", ref, cfg=cfgdir)
    assert r.returncode == 1, "no credentials yet"

    r = berth(engine, host, "login", "-u", "berth", "-p", "wrong", reg,
              cfg=cfgdir)
    assert r.returncode == 1
    assert "WARNING! Using --password via the CLI is insecure" in err(r)
    r = berth(engine, host, "login", "-u", "berth", "-p", "s3cret", reg,
              cfg=cfgdir, check=True)
    assert out(r) == "Login Succeeded\n"
    assert err(r).startswith("WARNING! Using --password via the CLI is "
                             "insecure. Use --password-stdin.\n")
    assert f"Your credentials are stored unencrypted in '{cfg}'" in err(r)
    c = json.load(open(cfg))
    assert c["auths"][reg] == {"auth": base64.b64encode(
        b"berth:s3cret").decode()}
    assert c["auths"]["other.example:5000"] == {"auth": other}
    assert c["psFormat"] == "table {{.ID}}" and c["detachKeys"] == "ctrl-x"
    assert stat.S_IMODE(os.stat(cfg).st_mode) == 0o600

    # The stored credentials are used: by login, pull and run.
    r = berth(engine, host, "login", reg, cfg=cfgdir, check=True)
    assert out(r) == "Login Succeeded\n"
    assert err(r).startswith("Authenticating with existing credentials... "
                             "[Username: berth]\n")
    r = berth(engine, host, "pull", ref, cfg=cfgdir, check=True)
    assert out(r).splitlines()[-1] == ref
    remove_image(engine, host, cfgdir, ref)
    r = berth(engine, host, "run", "--rm", ref, "cat", "/etc/berth-extra",
              cfg=cfgdir, check=True)
    assert out(r) == "extra\n"

    r = berth(engine, host, "logout", reg, cfg=cfgdir, check=True)
    assert out(r) == f"Removing login credentials for {reg}\n"
    c = json.load(open(cfg))
    assert reg not in c["auths"] and "other.example:5000" in c["auths"]
    assert c["psFormat"] == "table {{.ID}}"
    remove_image(engine, host, cfgdir, ref)
    r = berth(engine, host, "pull", ref, cfg=cfgdir)
    assert r.returncode == 1


def test_login_password_stdin_and_flag_errors(engine, host, auth_registry,
                                              cfgdir):
    reg = auth_registry.host
    r = berth(engine, host, "login", "-u", "berth", "--password-stdin", reg,
              cfg=cfgdir, input=b"s3cret\n", check=True)
    assert out(r) == "Login Succeeded\n"
    assert "--password via the CLI" not in err(r)
    c = json.load(open(os.path.join(cfgdir, "config.json")))
    assert base64.b64decode(c["auths"][reg]["auth"]) == b"berth:s3cret"
    cases = [
        (["-p", "x", "--password-stdin", reg],
         "conflicting options: cannot specify both --password and "
         "--password-stdin\n"),
        (["--password-stdin", reg],
         "the --password-stdin option requires --username to be set\n"),
        (["-u", "", reg], "username is empty\n"),
        (["-u", "berth", "other.example:5000"],
         "Error: Cannot perform an interactive login from a non TTY "
         "device\n"),
    ]
    for args, msg in cases:
        r = berth(engine, host, "login", *args, cfg=cfgdir)
        assert (r.returncode, err(r)) == (1, msg), args


HELPER = r"""#!/bin/sh
# A docker credential helper keeping its secrets in $BERTH_HELPER_STORE.
store="$BERTH_HELPER_STORE"
case "$1" in
store) cat > "$store.in"; python3 - "$store" <<'EOF'
import json, sys
p = sys.argv[1]
try:
    db = json.load(open(p))
except Exception:
    db = {}
c = json.load(open(p + ".in"))
db[c["ServerURL"]] = c
json.dump(db, open(p, "w"))
EOF
;;
get) key=$(cat); python3 - "$store" "$key" <<'EOF'
import json, sys
try:
    db = json.load(open(sys.argv[1]))
except Exception:
    db = {}
c = db.get(sys.argv[2])
if not c:
    print("credentials not found in native keychain")
    sys.exit(1)
print(json.dumps(c))
EOF
;;
erase) key=$(cat); python3 - "$store" "$key" <<'EOF'
import json, sys
try:
    db = json.load(open(sys.argv[1]))
except Exception:
    db = {}
db.pop(sys.argv[2], None)
json.dump(db, open(sys.argv[1], "w"))
EOF
;;
esac
"""


def test_credential_helper(engine, host, auth_registry, cfgdir):
    reg = auth_registry.host
    ref = f"{reg}/private:1"
    bindir = os.path.join(cfgdir, "bin")
    os.makedirs(bindir)
    helper = os.path.join(bindir, "docker-credential-berthtest")
    with open(helper, "w") as f:
        f.write(HELPER)
    os.chmod(helper, 0o755)
    store = os.path.join(cfgdir, "helper.json")
    env = {"PATH": bindir + ":" + os.environ.get("PATH", ""),
           "BERTH_HELPER_STORE": store}
    cfg = os.path.join(cfgdir, "config.json")
    with open(cfg, "w") as f:
        json.dump({"credHelpers": {reg: "berthtest"}}, f)
    r = berth(engine, host, "login", "-u", "berth", "--password-stdin", reg,
              cfg=cfgdir, env=env, input=b"s3cret", check=True)
    assert out(r) == "Login Succeeded\n"
    assert "unencrypted" not in err(r)
    assert json.load(open(store))[reg] == {
        "ServerURL": reg, "Username": "berth", "Secret": "s3cret"}
    c = json.load(open(cfg))
    assert c["auths"] == {reg: {}} and c["credHelpers"] == {reg: "berthtest"}
    remove_image(engine, host, cfgdir, ref)
    r = berth(engine, host, "pull", "-q", ref, cfg=cfgdir, env=env,
              check=True)
    assert out(r) == ref + "\n"
    r = berth(engine, host, "logout", reg, cfg=cfgdir, env=env, check=True)
    assert reg not in json.load(open(store))


def test_run_and_create_pull_a_missing_image(engine, host, registry, cfgdir,
                                             unique):
    ref = f"{registry.host}/busybox:1"
    remove_image(engine, host, cfgdir, ref)
    r = berth(engine, host, "run", "--rm", ref, "cat", "/etc/berth-extra",
              cfg=cfgdir, check=True)
    assert out(r) == "extra\n"
    e = err(r)
    assert e.startswith(f"Unable to find image '{ref}' locally\n")
    assert f"Status: Downloaded newer image for {ref}\n" in e
    assert ESC not in e

    remove_image(engine, host, cfgdir, ref)
    r = berth(engine, host, "run", "--rm", "--pull", "never", ref, "true",
              cfg=cfgdir)
    assert r.returncode == 125
    assert err(r).startswith("berth: Error response from daemon: ")
    assert "Unable to find image" not in err(r)
    r = berth(engine, host, "run", "--rm", "--pull", "bogus", ref, "true",
              cfg=cfgdir)
    assert (r.returncode, err(r)) == (
        125, "berth: invalid pull option: 'bogus': must be one of "
             "\"always\", \"missing\" or \"never\"\n\nRun 'berth run --help' "
             "for more information\n")
    r = berth(engine, host, "run", "--rm", "-q", ref, "true", cfg=cfgdir,
              check=True)
    assert err(r) == "" and out(r) == ""
    r = berth(engine, host, "run", "--rm", "--pull", "always", ref,
              "echo", "hi", cfg=cfgdir, check=True)
    assert out(r) == "hi\n"
    assert f"Status: Image is up to date for {ref}\n" in err(r)

    missing = f"{registry.host}/busybox:nope"
    r = berth(engine, host, "run", "--rm", missing, "true", cfg=cfgdir)
    assert r.returncode == 125
    assert err(r).startswith(f"Unable to find image '{missing}' locally\n"
                             "berth: ")
    assert err(r).endswith("\n\nRun 'berth run --help' for more "
                           "information\n")
    r = berth(engine, host, "create", missing, cfg=cfgdir)
    assert r.returncode == 1
    assert err(r).startswith(f"Unable to find image '{missing}' locally\n")
    assert "berth run --help" not in err(r)

    name = unique + "cr"
    remove_image(engine, host, cfgdir, ref)
    r = berth(engine, host, "create", "--name", name, ref, cfg=cfgdir,
              check=True)
    try:
        assert len(out(r).strip()) == 64
        assert f"Unable to find image '{ref}' locally\n" in err(r)
    finally:
        berth(engine, host, "rm", "-f", name, cfg=cfgdir)


# ---- side by side with docker's CLI, against a fake daemon ----

def _chunks(data, size):
    return [data[i:i + size] for i in range(0, len(data), size)] or [b""]


def jm(**kw):
    """One message of the progress stream, as moby frames it."""
    return json.dumps(kw, separators=(",", ":")).encode() + b"\r\n"


def bar(cur, total):
    pct = int(cur / total * 100) // 2
    return "[" + "=" * pct + ">" + " " * (50 - pct) + "]"


PULL_STREAM = b"".join([
    jm(status="Pulling from library/busybox", id="1.0"),
    jm(status="Pulling fs layer", progressDetail={}, id="aaaaaaaaaaaa"),
    jm(status="Pulling fs layer", progressDetail={}, id="bbbbbbbbbbbb"),
    jm(status="Waiting", progressDetail={}, id="bbbbbbbbbbbb"),
    jm(status="Downloading", progressDetail={"current": 32768,
                                             "total": 2345678},
       progress=bar(32768, 2345678) + "  32.77kB/2.346MB", id="aaaaaaaaaaaa"),
    jm(status="Downloading", progressDetail={"current": 1200000,
                                             "total": 2345678},
       progress=bar(1200000, 2345678) + "    1.2MB/2.346MB",
       id="aaaaaaaaaaaa"),
    jm(status="Downloading", progressDetail={"current": 999,
                                             "total": 1000},
       id="bbbbbbbbbbbb"),
    jm(status="Verifying Checksum", progressDetail={}, id="aaaaaaaaaaaa"),
    jm(status="Download complete", progressDetail={}, id="aaaaaaaaaaaa"),
    jm(status="Extracting", progressDetail={"current": 2345678,
                                            "total": 2345678},
       id="aaaaaaaaaaaa"),
    jm(status="Extracting", progressDetail={"current": 12345678901,
                                            "total": 1000},
       id="bbbbbbbbbbbb"),
    jm(status="Pull complete", progressDetail={}, id="aaaaaaaaaaaa"),
    jm(status="Pull complete", progressDetail={}, id="bbbbbbbbbbbb"),
    jm(status="Digest: sha256:" + "c" * 64),
    jm(status="Status: Downloaded newer image for busybox:1.0"),
])

ODD_STREAM = b"".join([
    jm(status="Loading", progressDetail={"current": 3, "units": "layers"},
       id="x1"),
    jm(status="Loading", progressDetail={"current": 3, "total": 7,
                                         "units": "layers"}, id="x1"),
    jm(status="Counting", progressDetail={"current": 5000}, id="x2"),
    jm(status="Hidden", progressDetail={"current": 5, "total": 10,
                                        "hidecounts": True}, id="x3"),
    jm(status="Old style", progress="[==>   ] 1/3", id="x4"),
    jm(status="from line", id="x5", **{"from": "some/image"}),
    jm(stream="a build line\n"),
    jm(status="aux hides me", aux={"Tag": "1", "Digest": "sha256:" + "d" * 64,
                                    "Size": 528}),
    b"  \n",
    jm(status="Done"),
])

ERROR_STREAM = b"".join([
    jm(status="Pulling from library/busybox", id="1.0"),
    jm(status="Pulling fs layer", progressDetail={}, id="aaaaaaaaaaaa"),
    jm(status="Downloading", progressDetail={"current": 10, "total": 100},
       id="aaaaaaaaaaaa"),
    jm(errorDetail={"message": "unexpected EOF while downloading layer"},
       error="unexpected EOF while downloading layer"),
    jm(status="never shown"),
])

PUSH_STREAM = b"".join([
    jm(status="The push refers to repository [localhost:5000/foo]"),
    jm(status="Preparing", progressDetail={}, id="111111111111"),
    jm(status="Preparing", progressDetail={}, id="222222222222"),
    jm(status="Pushing", progressDetail={"current": 512, "total": 1024},
       progress=bar(512, 1024) + "     512B/1.024kB", id="111111111111"),
    jm(status="Layer already exists", progressDetail={}, id="222222222222"),
    jm(status="Pushed", progressDetail={}, id="111111111111"),
    jm(status="1: digest: sha256:" + "e" * 64 + " size: 528"),
    jm(progressDetail={}, aux={"Tag": "1", "Digest": "sha256:" + "e" * 64,
                               "Size": 528}),
])


class FakeDaemon:
    """An Engine API stub on a unix socket: answers the ping, and replays
    `routes[(method, suffix)] = (status, body bytes)` in small chunks.  It
    records every request (method, path without the version, headers,
    body) in `calls`."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="berth-cli-fake-", dir="/tmp")
        self.sock = os.path.join(self.dir, "fake.sock")
        self.routes = {}
        self.calls = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def address_string(self):
                return "fake"

            def _reply(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                path = self.path
                if path.startswith("/v1."):
                    path = path[path.index("/", 1):]
                fake.calls.append((self.command, path,
                                   {k.lower(): v for k, v in
                                    self.headers.items()}, body))
                if path == "/_ping":
                    self.send_response(200)
                    self.send_header("Api-Version", "1.44")
                    self.send_header("Ostype", "linux")
                    self.send_header("Content-Length",
                                     "0" if self.command == "HEAD" else "2")
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(b"OK")
                    return
                route = None
                for (m, suffix), v in fake.routes.items():
                    if m == self.command and path.split("?")[0].endswith(
                            suffix):
                        route = v
                if route is None:
                    route = (404, json.dumps(
                        {"message": "page not found"}).encode())
                status, data = route
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if status >= 300:
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for c in _chunks(data, 37):
                    if c:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
                        self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")

            do_GET = do_POST = do_HEAD = do_DELETE = _reply

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True

        self.server = Server(self.sock, Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def fake():
    f = FakeDaemon()
    yield f
    f.close()


BERTH = os.environ.get("BERTH_CLI") or os.path.join(
    os.environ.get("BERTH_BUILD", os.path.join(
        os.path.dirname(__file__), "..", "..", "build")), "src/cli/berth")


def both(fake, args, cfg=None, tty_cols=None, input=None, env=None):
    """Run `docker ARGS` and `berth ARGS` against the fake daemon; returns
    ((rc, stdout, stderr, calls), ...) for each, docker's words turned into
    berth's so that they compare."""
    results = []
    for prog in (DOCKER, BERTH):
        e = dict(os.environ)
        e.pop("DOCKER_API_VERSION", None)
        e.pop("DOCKER_DEFAULT_PLATFORM", None)
        e["DOCKER_HOST"] = e["BERTH_HOST"] = "unix://" + fake.sock
        e["DOCKER_CLI_HINTS"] = "false"
        d = tempfile.mkdtemp(prefix="berth-cli-cfg-", dir="/tmp")
        if cfg is not None:
            with open(os.path.join(d, "config.json"), "w") as f:
                json.dump(cfg, f)
        e["DOCKER_CONFIG"] = d
        e.update(env or {})
        fake.calls = []
        try:
            if tty_cols:
                cmd = " ".join(["stty", "cols", str(tty_cols), "rows", "40;",
                                prog] + [_sh(a) for a in args])
                r = subprocess.run(["script", "-qfec", cmd, "/dev/null"],
                                   env=e, capture_output=True, timeout=60,
                                   stdin=subprocess.DEVNULL)
                o, er = r.stdout, b""
                # script reports the command's status in its own.
            else:
                r = subprocess.run([prog, *args], env=e, capture_output=True,
                                   timeout=60, input=input,
                                   stdin=None if input is not None
                                   else subprocess.DEVNULL)
                o, er = r.stdout, r.stderr
            conf = None
            p = os.path.join(d, "config.json")
            if os.path.exists(p):
                conf = (json.load(open(p)), stat.S_IMODE(os.stat(p).st_mode))
        finally:
            shutil.rmtree(d, ignore_errors=True)
        o = o.decode(errors="replace").replace(d, "CFG")
        er = er.decode(errors="replace").replace(d, "CFG")
        if prog == DOCKER:
            for a, b in (("docker: ", "berth: "), ("'docker ", "'berth "),
                         ("Docker daemon", "berth daemon")):
                o = o.replace(a, b)
                er = er.replace(a, b)
        calls = [(m, p, h.get("x-registry-auth"), b) for m, p, h, b in
                 fake.calls if p != "/_ping"]
        results.append((r.returncode, o, er, calls, conf))
    return results


def _sh(a):
    return "'" + a.replace("'", "'\\''") + "'"


@pytest.fixture
def docker_cli():
    if not os.path.exists(DOCKER):
        pytest.skip("docker CLI not installed")
    need("script")


@pytest.mark.parametrize("stream", [PULL_STREAM, ODD_STREAM, ERROR_STREAM],
                         ids=["pull", "odd", "error"])
@pytest.mark.parametrize("cols", [None, 130, 80], ids=["pipe", "tty130",
                                                       "tty80"])
def test_progress_drawn_like_docker(fake, docker_cli, stream, cols):
    fake.routes[("POST", "/images/create")] = (200, stream)
    d, b = both(fake, ["pull", "busybox:1.0"], tty_cols=cols)
    assert b == d


def test_pull_requests_like_docker(fake, docker_cli):
    fake.routes[("POST", "/images/create")] = (200, PULL_STREAM)
    creds = {"auths": {
        "https://index.docker.io/v1/": {"auth": base64.b64encode(
            b"hubuser:hubpass").decode()},
        "127.0.0.1:5000": {"auth": base64.b64encode(b"u:p").decode(),
                           "identitytoken": "tok"}}}
    for args in (["pull", "busybox"], ["pull", "-q", "busybox:1.0"],
                 ["pull", "-a", "busybox"],
                 ["pull", "--platform", "Linux/ARM64",
                  "ghcr.io/foo/bar@sha256:" + "c" * 64],
                 ["pull", "127.0.0.1:5000/x:2"],
                 ["pull", "index.docker.io/library/busybox:1"],
                 ["pull", "localhost/x"]):
        d, b = both(fake, args, cfg=creds)
        assert b == d, args
    d, b = both(fake, ["pull", "127.0.0.1:5000/x:2"],
                env={"DOCKER_DEFAULT_PLATFORM": "linux/amd64"})
    assert b == d


def test_pull_refused_like_docker(fake, docker_cli):
    fake.routes[("POST", "/images/create")] = (404, json.dumps(
        {"message": "pull access denied for x"}).encode())
    d, b = both(fake, ["pull", "x:1"])
    assert b == d
    assert b[2] == "Error response from daemon: pull access denied for x\n"
    for bad in ("UPPER", "a" * 64, "x:y:z", "x@sha256:1234", "x@md5:" +
                "a" * 32, "x@sha256:" + "a" * 63, "x/" * 200 + "x", "a.b_c/x",
                "Foo/bar", "Foo_Bar/x", "x::1", "[::1]:5000/x", ""):
        d, b = both(fake, ["pull", bad])
        assert b == d, bad


def test_push_like_docker(fake, docker_cli):
    fake.routes[("POST", "/push")] = (200, PUSH_STREAM)
    for args in (["push", "localhost:5000/foo:1"],
                 ["push", "-q", "localhost:5000/foo:1"],
                 ["push", "localhost:5000/foo"],
                 ["push", "-a", "localhost:5000/foo"],
                 ["push", "foo@sha256:" + "e" * 64]):
        d, b = both(fake, args)
        assert b == d, args
    d, b = both(fake, ["push", "localhost:5000/foo:1"], tty_cols=130)
    assert b == d
    # Notes the daemon asks for (aux) come after the stream.
    fake.routes[("POST", "/push")] = (200, PUSH_STREAM + jm(aux={
        "manifestPushedInsteadOfIndex": True,
        "originalIndex": {"digest": "sha256:" + "a" * 64},
        "selectedManifest": {"digest": "sha256:" + "b" * 64}}) + jm(
        aux={"ContentMissing": True}))
    for cols in (None, 120):
        for q in ([], ["-q"]):
            d, b = both(fake, ["push", *q, "localhost:5000/foo:1"],
                        tty_cols=cols)
            assert b == d, (q, cols)


def test_login_logout_like_docker(fake, docker_cli):
    ok = (200, json.dumps({"Status": "Login Succeeded",
                           "IdentityToken": ""}).encode())
    fake.routes[("POST", "/auth")] = ok
    keep = {"auths": {"a.example": {"auth": base64.b64encode(
        b"q:r").decode()}}, "psFormat": "x"}
    stored = {"auths": {"127.0.0.1:5000": {"auth": base64.b64encode(
        b"u:p").decode()}}}
    for cfg, args, inp in (
            (None, ["login", "-u", "u", "-p", "p", "127.0.0.1:5000"], None),
            (keep, ["login", "-u", "u", "--password-stdin",
                    "http://127.0.0.1:5000/v2/"], b"p\r\n"),
            (stored, ["login", "-u", "u", "-p", "p", "127.0.0.1:5000"], None),
            (stored, ["login", "127.0.0.1:5000"], None),
            (None, ["login", "-u", "u", "-p", "p"], None),
            (None, ["login", "-u", "u", "-p", "p", "docker.io"], None),
            (None, ["login", "127.0.0.1:5000"], None),
            (stored, ["logout", "127.0.0.1:5000"], None),
            (stored, ["logout", "https://127.0.0.1:5000"], None),
            (None, ["logout", "127.0.0.1:5000"], None)):
        d, b = both(fake, args, cfg=cfg, input=inp)
        assert b == d, args
    fake.routes[("POST", "/auth")] = (401, json.dumps(
        {"message": "login attempt failed with status: 401 "
                    "Unauthorized"}).encode())
    for cfg, args in ((None, ["login", "-u", "u", "-p", "bad", "x.io"]),
                      (stored, ["login", "127.0.0.1:5000"])):
        d, b = both(fake, args, cfg=cfg)
        assert b == d, args
    fake.routes[("POST", "/auth")] = (200, json.dumps(
        {"Status": "Login Succeeded", "IdentityToken": "idtok"}).encode())
    d, b = both(fake, ["login", "-u", "u", "-p", "p", "127.0.0.1:5000"])
    assert b == d


def test_run_pull_like_docker(fake, docker_cli):
    """create answers 404: both CLIs say so, pull, and try again."""
    fake.routes[("POST", "/containers/create")] = (404, json.dumps(
        {"message": "No such image: busybox:1.0"}).encode())
    fake.routes[("POST", "/images/create")] = (200, PULL_STREAM)
    for args in (["create", "busybox:1.0"], ["create", "-q", "busybox:1.0"],
                 ["create", "--pull", "never", "busybox:1.0"],
                 ["create", "--platform", "linux/arm64", "busybox"],
                 ["run", "--pull", "never", "busybox:1.0"]):
        d, b = both(fake, args)
        # The create bodies differ (berth sends fewer defaults); compare
        # what matters here.
        assert b[:3] == d[:3], args
        assert [c[:3] for c in b[3]] == [c[:3] for c in d[3]], args
    fake.routes[("POST", "/images/create")] = (200, ERROR_STREAM)
    for args in (["run", "busybox:1.0"], ["create", "busybox:1.0"]):
        d, b = both(fake, args)
        assert b[:3] == d[:3], args
