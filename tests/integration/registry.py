"""Helpers for the registry tests (test_registry.py).

- `Registry`: the reference registry (Debian's docker-registry, distribution
  2.8.2) on 127.0.0.1:<free port>, with a private storage dir, optionally
  htpasswd auth and TLS; stopped by pid.
- `make_tls`: a test CA and a server certificate for 127.0.0.1 (openssl).
- An OCI image builder that needs no engine: layers made with tarfile and
  gzip / zstd / nothing, configs, manifests, indexes, written as an OCI
  image layout, and `skopeo_copy` to put a layout into a registry as built.
- `FakeRegistry`: a small threaded http.server registry that serves images
  from memory and can be told to misbehave (tampered bytes, lying sizes,
  truncated bodies, dropped connections that then honour Range, redirect
  loops, slow bodies, documents of the wrong kind).
- `Client`: the berth or docker CLI with its own DOCKER_CONFIG.
- `CertsEngine`: a private berthd started with `--certs-dir DIR`.

Traffic goes only to 127.0.0.1; every process started here is stopped by
its pid; every directory made here is under /tmp and removed.
"""
import base64
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from conftest import DOCKER, Engine, make_busybox_rootfs, wait_socket

# binary -> Debian package that provides it
TOOLS = {"docker-registry": "docker-registry", "skopeo": "skopeo",
         "htpasswd": "apache2-utils", "openssl": "openssl"}

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = {"gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
             "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
             "none": "application/vnd.oci.image.layer.v1.tar"}
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"

TEST_USER = "berthuser"
TEST_PASSWORD = "s3cret-Pa55"


def missing_tools():
    """The Debian packages whose binaries the registry tests need but are
    not installed."""
    return sorted({pkg for b, pkg in TOOLS.items() if not shutil.which(b)})


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _no_proxy_opener(context=None):
    handlers = [urllib.request.ProxyHandler({})]
    if context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=context))
    return urllib.request.build_opener(*handlers)


def _stop_proc(proc, timeout=10):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ---------------------------------------------------------------- TLS ----

def make_tls(d):
    """A CA and a server certificate for IP 127.0.0.1 signed by it, in d.
    Returns {"ca": path, "cert": path, "key": path}."""
    os.makedirs(d, exist_ok=True)
    ca_key, ca = os.path.join(d, "ca.key"), os.path.join(d, "ca.crt")
    key, csr = os.path.join(d, "server.key"), os.path.join(d, "server.csr")
    cert, ext = os.path.join(d, "server.crt"), os.path.join(d, "server.ext")

    def ossl(*a):
        subprocess.run(["openssl", *a], check=True, capture_output=True)
    ossl("req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", ca_key,
         "-out", ca, "-days", "2", "-subj", "/CN=berth test CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n"
                "basicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n")
    ossl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
         "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext)
    return {"ca": ca, "cert": cert, "key": key}


# ----------------------------------------------------------- Registry ----

class Registry:
    """docker-registry serve CONFIG on 127.0.0.1:<free port>.

    auth=(user, password) turns on htpasswd (bcrypt) auth; tls={"cert",
    "key"} (see make_tls) serves HTTPS.  `host` is "127.0.0.1:PORT"."""

    def __init__(self, auth=None, tls=None):
        self.auth = auth
        self.tls = tls
        self.dir = tempfile.mkdtemp(prefix="berth-reg-", dir="/tmp")
        self.port = None
        self.proc = None
        self.log = os.path.join(self.dir, "registry.log")

    @property
    def host(self):
        return f"127.0.0.1:{self.port}"

    @property
    def url(self):
        return ("https://" if self.tls else "http://") + self.host

    def start(self):
        storage = os.path.join(self.dir, "storage")
        os.makedirs(storage)
        self.port = free_port()
        cfg = {
            "version": "0.1",
            "log": {"level": "info", "formatter": "text",
                    "accesslog": {"disabled": False}},
            "storage": {"filesystem": {"rootdirectory": storage},
                        "delete": {"enabled": True},
                        "maintenance": {"uploadpurging": {"enabled": False}}},
            "http": {"addr": self.host, "secret": "berth-test-secret"},
            "health": {"storagedriver": {"enabled": False}},
        }
        if self.tls:
            cfg["http"]["tls"] = {"certificate": self.tls["cert"],
                                  "key": self.tls["key"]}
        if self.auth:
            user, pw = self.auth
            line = subprocess.run(["htpasswd", "-Bbn", user, pw],
                                  capture_output=True, text=True,
                                  check=True).stdout.strip()
            hp = os.path.join(self.dir, "htpasswd")
            with open(hp, "w") as f:
                f.write(line + "\n")
            cfg["auth"] = {"htpasswd": {"realm": "berth-test", "path": hp}}
        conf = os.path.join(self.dir, "config.yml")
        with open(conf, "w") as f:
            json.dump(cfg, f)  # JSON is YAML
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(["docker-registry", "serve", conf],
                                     stdout=logf, stderr=logf,
                                     stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        logf.close()
        ctx = None
        if self.tls:
            ctx = ssl.create_default_context(cafile=self.tls["ca"])
        opener = _no_proxy_opener(ctx)
        end = time.time() + 20
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"docker-registry exited ({self.proc.returncode}):\n"
                    f"{self.log_tail()}")
            try:
                opener.open(self.url + "/v2/", timeout=2).close()
                return self
            except urllib.error.HTTPError as e:
                if e.code == 401:
                    return self
            except OSError:
                pass
            if time.time() > end:
                raise RuntimeError(f"registry on {self.host} did not answer "
                                   f"/v2/:\n{self.log_tail()}")
            time.sleep(0.05)

    def log_tail(self, n=4000):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def stop(self):
        _stop_proc(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


# ------------------------------------------------------ image builder ----

_BUSYBOX_ROOTFS = None


def busybox_rootfs():
    """The rootfs of make_busybox_rootfs, made once per process (removed at
    exit by remove_busybox_rootfs)."""
    global _BUSYBOX_ROOTFS
    if _BUSYBOX_ROOTFS is None:
        d = tempfile.mkdtemp(prefix="berth-regbb-", dir="/tmp")
        _BUSYBOX_ROOTFS = make_busybox_rootfs(os.path.join(d, "rootfs"))
    return _BUSYBOX_ROOTFS


def remove_busybox_rootfs():
    global _BUSYBOX_ROOTFS
    if _BUSYBOX_ROOTFS:
        shutil.rmtree(os.path.dirname(_BUSYBOX_ROOTFS), ignore_errors=True)
        _BUSYBOX_ROOTFS = None


def _norm(ti):
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    ti.mtime = 1700000000
    return ti


def layer_tar(files=None, rootfs=None):
    """An uncompressed layer tar: the tree at `rootfs` (sorted, owned by
    root, fixed mtimes) plus `files` {path: bytes}."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        if rootfs:
            for dirpath, dirnames, filenames in os.walk(rootfs):
                dirnames.sort()
                rel = os.path.relpath(dirpath, rootfs)
                if rel != ".":
                    t.add(dirpath, arcname=rel, recursive=False, filter=_norm)
                for n in sorted(filenames + [d for d in dirnames
                                             if os.path.islink(
                                                 os.path.join(dirpath, d))]):
                    p = os.path.join(dirpath, n)
                    arc = n if rel == "." else os.path.join(rel, n)
                    t.add(p, arcname=arc, recursive=False, filter=_norm)
        for path, data in sorted((files or {}).items()):
            ti = _norm(tarfile.TarInfo(path.lstrip("/")))
            ti.size = len(data)
            ti.mode = 0o644
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def have_zstd():
    return shutil.which("zstd") is not None


def compress(data, how):
    if how == "gzip":
        return gzip.compress(data, compresslevel=6, mtime=0)
    if how == "zstd":
        return subprocess.run(["zstd", "-q", "-c", "-3", "--no-progress"],
                              input=data, capture_output=True,
                              check=True).stdout
    if how == "none":
        return data
    raise ValueError(how)


class Blob:
    def __init__(self, data, media_type):
        self.data = data
        self.media_type = media_type
        self.digest = sha256(data)
        self.size = len(data)

    def descriptor(self, **extra):
        d = {"mediaType": self.media_type, "digest": self.digest,
             "size": self.size}
        d.update(extra)
        return d


class Image:
    """One image: config, layers and manifest, all as bytes.

    layers: list of (uncompressed tar, compression); fmt "oci" or
    "docker" (schema2)."""

    def __init__(self, layers, arch="amd64", variant=None, fmt="oci",
                 cmd=("sh",), label="berth-test"):
        self.arch, self.variant, self.fmt = arch, variant, fmt
        self.diff_ids = [sha256(t) for t, _ in layers]
        self.layers = []
        for t, how in layers:
            if fmt == "docker":
                assert how == "gzip", "docker schema2 layers here are gzip"
                self.layers.append(Blob(compress(t, how), DOCKER_LAYER))
            else:
                self.layers.append(Blob(compress(t, how), OCI_LAYER[how]))
        cfg = {
            "created": "2024-01-01T00:00:00Z",
            "architecture": arch,
            "os": "linux",
            "config": {
                "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
                        "/usr/bin:/sbin:/bin"],
                "Cmd": list(cmd),
                "Labels": {"berth-test": label},
            },
            "rootfs": {"type": "layers", "diff_ids": self.diff_ids},
            "history": [{"created": "2024-01-01T00:00:00Z",
                         "created_by": f"berth-test layer {i}"}
                        for i in range(len(layers))],
        }
        if variant:
            cfg["variant"] = variant
        self.config = Blob(json.dumps(cfg, indent=1).encode(),
                           DOCKER_CONFIG if fmt == "docker" else OCI_CONFIG)
        self.manifest_obj = {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST if fmt == "docker" else OCI_MANIFEST,
            "config": self.config.descriptor(),
            "layers": [l.descriptor() for l in self.layers],
        }
        self.manifest = json.dumps(self.manifest_obj, indent=2).encode()
        self.media_type = self.manifest_obj["mediaType"]
        self.digest = sha256(self.manifest)
        self.size = len(self.manifest)

    @property
    def config_digest(self):
        return self.config.digest

    def platform(self):
        p = {"architecture": self.arch, "os": "linux"}
        if self.variant:
            p["variant"] = self.variant
        return p

    def descriptor(self):
        return {"mediaType": self.media_type, "digest": self.digest,
                "size": self.size, "platform": self.platform()}

    def blobs(self):
        """{digest: bytes} of the config and layers."""
        b = {self.config.digest: self.config.data}
        for l in self.layers:
            b[l.digest] = l.data
        return b


class Index:
    """An OCI index (or docker manifest list) of images."""

    def __init__(self, images, fmt="oci"):
        self.images = images
        self.media_type = DOCKER_LIST if fmt == "docker" else OCI_INDEX
        self.obj = {"schemaVersion": 2, "mediaType": self.media_type,
                    "manifests": [i.descriptor() for i in images]}
        self.manifest = json.dumps(self.obj, indent=2).encode()
        self.digest = sha256(self.manifest)
        self.size = len(self.manifest)

    def blobs(self):
        b = {}
        for i in self.images:
            b.update(i.blobs())
            b[i.digest] = i.manifest
        return b


def busybox_image(marker_files, compression="gzip", arch="amd64",
                  variant=None, fmt="oci", unique_base=None):
    """A runnable two-layer image: busybox (plus /base-id, so that each
    test's base layer is new to the engine) and a small top layer holding
    `marker_files` {path: bytes}."""
    base = layer_tar(files={"/base-id": (unique_base or "x").encode() +
                            b"\n"}, rootfs=busybox_rootfs())
    top = layer_tar(files=marker_files)
    return Image([(base, compression), (top, compression)], arch=arch,
                 variant=variant, fmt=fmt, label=unique_base or "x")


def write_oci_layout(d, top, tag):
    """Write `top` (an Image or Index) as an OCI image layout at d, with
    ref name `tag`."""
    bd = os.path.join(d, "blobs", "sha256")
    os.makedirs(bd, exist_ok=True)
    blobs = dict(top.blobs())
    blobs[top.digest] = top.manifest
    for dg, data in blobs.items():
        with open(os.path.join(bd, dg.split(":", 1)[1]), "wb") as f:
            f.write(data)
    with open(os.path.join(d, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(os.path.join(d, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": top.media_type, "digest": top.digest,
            "size": top.size,
            "annotations": {"org.opencontainers.image.ref.name": tag}}]}, f)
    return d


def skopeo(*args, timeout=120):
    """Run skopeo; returns CompletedProcess (text)."""
    return subprocess.run(["skopeo", "--insecure-policy", *args],
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def skopeo_copy(src, dest, creds=None, cert_dir=None, all_images=False,
                preserve=True, fmt=None, src_creds=None, src_cert_dir=None):
    """skopeo copy with TLS verification off unless a cert dir is given.
    Raises AssertionError with skopeo's stderr on failure."""
    a = ["copy", "--retry-times", "0"]
    if all_images:
        a.append("--all")
    if preserve:
        a.append("--preserve-digests")
    if fmt:
        a += ["--format", fmt]
    for side, c, cd in (("dest", creds, cert_dir),
                        ("src", src_creds, src_cert_dir)):
        if c:
            a += [f"--{side}-creds", f"{c[0]}:{c[1]}"]
        if cd:
            a += [f"--{side}-cert-dir", cd]
        else:
            a.append(f"--{side}-tls-verify=false")
    r = skopeo(*a, src, dest)
    if r.returncode != 0:
        raise AssertionError(f"skopeo copy {src} {dest} failed:\n{r.stderr}")
    return r


def push_layout(reg, top, repo, tag, tmpdir, **kw):
    """Put `top` (Image or Index) into Registry `reg` as repo:tag, bytes
    unchanged.  Returns the reference 127.0.0.1:PORT/repo:tag."""
    d = tempfile.mkdtemp(prefix="layout-", dir=str(tmpdir))
    write_oci_layout(d, top, tag)
    ref = f"{reg.host}/{repo}:{tag}"
    kw.setdefault("all_images", isinstance(top, Index))
    if reg.auth:
        kw.setdefault("creds", reg.auth)
    if reg.tls and "cert_dir" not in kw:
        cd = os.path.join(d, "certs")
        os.makedirs(cd)
        shutil.copy(reg.tls["ca"], os.path.join(cd, "ca.crt"))
        kw["cert_dir"] = cd
    skopeo_copy(f"oci:{d}:{tag}", f"docker://{ref}", **kw)
    shutil.rmtree(d, ignore_errors=True)
    return ref


def read_oci_layout_files(d):
    """Names of the regular files and links in every layer of the single
    image in the OCI layout at d (decompressing gzip/zstd/plain)."""
    with open(os.path.join(d, "index.json")) as f:
        idx = json.load(f)

    def blob(dg):
        with open(os.path.join(d, "blobs", *dg.split(":", 1)), "rb") as f:
            return f.read()
    man = json.loads(blob(idx["manifests"][0]["digest"]))
    names = set()
    for l in man["layers"]:
        data = blob(l["digest"])
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        elif data[:4] == b"\x28\xb5\x2f\xfd":
            data = subprocess.run(["zstd", "-d", "-q", "-c"], input=data,
                                  capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(data)) as t:
            names.update(m.name.lstrip("./") for m in t.getmembers())
    return man, names


# ------------------------------------------------------ fake registry ----

class _FakeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "berth-fake-registry/1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        self._serve(head=False)

    def do_HEAD(self):
        self._serve(head=True)

    def _send(self, code, body=b"", ctype="application/json", headers=(),
              head=False):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _error(self, code, ecode, msg, head=False):
        body = json.dumps({"errors": [{"code": ecode, "message": msg}]})
        self._send(code, body.encode(), head=head)

    def _cut(self, headers, body, keep, code=200):
        """Headers promising all of body, then only `keep` bytes, then the
        connection is closed."""
        self.send_response(code)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body[:keep])
        self.wfile.flush()
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _token(self, head):
        """The token server: Basic credentials (when users are set) buy a
        bearer token for the scopes asked for."""
        fake = self.server.fake
        q = parse_qs(urlsplit(self.path).query)
        with fake.lock:
            fake.token_requests.append(q)
        if fake.token_users:
            auth = self.headers.get("Authorization", "")
            try:
                user, _, pw = base64.b64decode(
                    auth.split(" ", 1)[1]).decode().partition(":")
            except (IndexError, ValueError):
                user = pw = None
            if not auth.startswith("Basic ") or \
                    fake.token_users.get(user) != pw:
                return self._error(401, "UNAUTHORIZED",
                                   "incorrect username or password", head)
        tok = "tok-%d" % len(fake.tokens)
        with fake.lock:
            fake.tokens[tok] = set(q.get("scope", []))
        return self._send(200, json.dumps(
            {"token": tok, "expires_in": 300}).encode(), head=head)

    def _authorized(self, path):
        """Bearer mode: the token must carry a pull scope of the repo."""
        fake = self.server.fake
        auth = self.headers.get("Authorization", "")
        scopes = fake.tokens.get(auth[7:]) if auth.startswith("Bearer ") \
            else None
        m = re.match(r"^/v2/(.+)/(manifests|blobs|tags)/", path)
        if scopes is not None and (not m or any(
                sc.startswith(f"repository:{m.group(1)}:") for sc in scopes)):
            return True
        scope = f'",scope="repository:{m.group(1)}:pull' if m else ""
        body = json.dumps({"errors": [{"code": "UNAUTHORIZED",
                                       "message": "authentication required"}]})
        self._send(401, body.encode(), headers=[(
            "WWW-Authenticate",
            f'Bearer realm="{fake.url}/token",service="fake-registry'
            f'{scope}"')], head=self.command == "HEAD")
        return False

    def _serve(self, head):
        fake = self.server.fake
        path = urlsplit(self.path).path
        fake._record(self.command, path, dict(self.headers.items()))
        if path == "/token":
            return self._token(head)
        if fake.bearer and path.startswith("/v2") and \
                not self._authorized(path):
            return
        if path in ("/v2", "/v2/"):
            return self._send(200, b"{}", head=head)
        m = re.match(r"^/loop/(\d+)/(sha256:[0-9a-f]{64})$", path)
        if m:
            n = int(m.group(1)) + 1
            return self._send(307, b"", headers=[
                ("Location", f"{fake.url}/loop/{n}/{m.group(2)}")],
                head=head)
        m = re.match(r"^/elsewhere/(sha256:[0-9a-f]{64})$", path)
        if m:
            return self._blob(m.group(1), head, redirected=True)
        m = re.match(r"^/v2/(.+)/(manifests|blobs)/([^/]+)$", path)
        if not m:
            return self._error(404, "NAME_UNKNOWN", "no such path", head)
        repo, kind, ref = m.groups()
        if kind == "manifests":
            doc = fake.manifests.get((repo, ref))
            if doc is None:
                return self._error(404, "MANIFEST_UNKNOWN",
                                   "manifest unknown", head)
            ctype, body, digest = doc
            return self._send(200, body, ctype=ctype, head=head, headers=[
                ("Docker-Content-Digest", digest)])
        return self._blob(ref, head)

    def _blob(self, digest, head, redirected=False):
        fake = self.server.fake
        data = fake.blobs.get(digest)
        if data is None:
            return self._error(404, "BLOB_UNKNOWN", "blob unknown", head)
        mode = fake.blob_modes.get(digest)
        hdrs = [("Docker-Content-Digest", digest)]
        if head:
            return self._send(200, b"", ctype="application/octet-stream",
                              headers=hdrs, head=True)
        if mode == "redirect-loop":
            return self._send(307, b"", headers=[
                ("Location", f"{fake.url}/loop/1/{digest}")])
        if mode == "redirect-once" and not redirected:
            return self._send(307, b"", headers=[
                ("Location", f"{fake.url}/elsewhere/{digest}")])
        if mode == "redirect-other-host" and fake.other:
            # Like a registry sending blobs to its storage: a different
            # host (port), which must not see the registry's credentials.
            fake.other.blobs[digest] = data
            return self._send(307, b"", headers=[
                ("Location", f"{fake.other.url}/elsewhere/{digest}")])
        with fake.lock:
            n = fake.blob_gets.get(digest, 0)
            fake.blob_gets[digest] = n + 1
        delays = fake.blob_delays.get(digest) or []
        if n < len(delays):
            time.sleep(delays[n])
        rng = self.headers.get("Range")
        if mode == "truncate":
            # promise the whole (or the asked-for rest), send half of it
            m = re.match(r"^bytes=(\d+)-$", rng or "")
            start = int(m.group(1)) if m else 0
            rest = data[start:]
            if m:
                hdrs = hdrs + [("Content-Range", f"bytes {start}-"
                                f"{len(data) - 1}/{len(data)}")]
            return self._cut(hdrs, rest, len(rest) // 2,
                             code=206 if m else 200)
        if mode == "drop-once":
            with fake.lock:
                first = digest not in fake.dropped
                fake.dropped.add(digest)
            if first:
                return self._cut(hdrs, data, len(data) // 2)
        m = re.match(r"^bytes=(\d+)-(\d*)$", rng or "")
        if m and mode in ("drop-once", None, "slow"):
            start = int(m.group(1))
            end = int(m.group(2)) if m.group(2) else len(data) - 1
            if start >= len(data):
                return self._send(416, b"", headers=[
                    ("Content-Range", f"bytes */{len(data)}")])
            part = data[start:end + 1]
            self.send_response(206)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(part)))
            self.send_header("Content-Range",
                             f"bytes {start}-{start + len(part) - 1}"
                             f"/{len(data)}")
            for k, v in hdrs:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(part)
            return
        if mode == "slow":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            for i in range(0, len(data), 64 * 1024):
                self.wfile.write(data[i:i + 64 * 1024])
                self.wfile.flush()
                time.sleep(fake.slow_delay)
            return
        self._send(200, data, ctype="application/octet-stream",
                   headers=hdrs)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients hang up on purpose here (redirect loops, cuts)


class FakeRegistry:
    """A registry on 127.0.0.1 that serves from memory.

    blob_modes[digest] is one of: "truncate" (Content-Length of the whole,
    or of the rest asked for with Range, then half of those bytes and the
    connection closed -- every time), "drop-once" (the same,
    once; then whole bodies, and 206 answers to Range), "redirect-loop",
    "redirect-once" (one 307 to another path, which serves it), "slow".
    blob_delays[digest] = [s0, s1, ...] holds back the answer to the n-th
    GET of that blob by s_n seconds.
    `blobs[digest]` may be set to bytes that do not match the digest.
    Every request is recorded in `requests` as (method, path, headers)."""

    def __init__(self):
        self.manifests = {}   # (repo, ref) -> (content type, body, digest)
        self.blobs = {}
        self.blob_modes = {}
        self.requests = []
        self.dropped = set()
        self.blob_delays = {}  # digest -> [seconds before the n-th GET]
        self.blob_gets = {}
        self.lock = threading.Lock()
        self.slow_delay = 0.05
        self.bearer = False      # ask for bearer tokens from /token
        self.token_users = {}    # user -> password the token server takes
        self.tokens = {}         # token -> scopes it was issued for
        self.token_requests = []
        self.other = None        # a second server for cross-host redirects
        self.httpd = None
        self.thread = None

    def start(self):
        self.httpd = _QuietServer(("127.0.0.1", 0), _FakeHandler)
        self.httpd.fake = self
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join(timeout=10)
            self.httpd = None

    @property
    def host(self):
        return f"127.0.0.1:{self.port}"

    @property
    def url(self):
        return "http://" + self.host

    def _record(self, method, path, headers):
        with self.lock:
            self.requests.append((method, path, headers))

    def put_manifest(self, repo, ref, body, ctype, digest=None):
        """Serve body as repo's manifest `ref`; a tag's document is also
        served by its digest (clients HEAD the tag, then GET the digest)."""
        digest = digest or sha256(body)
        self.manifests[(repo, ref)] = (ctype, body, digest)
        if not ref.startswith("sha256:"):
            self.manifests[(repo, digest)] = (ctype, body, digest)

    def add(self, repo, tag, top):
        """Serve `top` (Image or Index) as repo:tag and by digest."""
        self.blobs.update(top.blobs())
        self.put_manifest(repo, tag, top.manifest, top.media_type)
        self.put_manifest(repo, top.digest, top.manifest, top.media_type)
        if isinstance(top, Index):
            for i in top.images:
                self.put_manifest(repo, i.digest, i.manifest, i.media_type)
        return f"{self.host}/{repo}:{tag}"

    def seen(self, pred):
        with self.lock:
            return [r for r in self.requests if pred(*r)]

    def gets_of(self, digest):
        """GET requests for blob `digest` (at any path)."""
        return self.seen(lambda m, p, h: m == "GET" and p.endswith(digest))

    def range_gets_of(self, digest):
        return [r for r in self.gets_of(digest)
                if any(k.lower() == "range" for k in r[2])]


# -------------------------------------------------------------- clients ----

class Client:
    """The berth CLI ("berth") or the docker CLI ("docker") against an
    engine, with a private DOCKER_CONFIG directory."""

    def __init__(self, engine, kind, config_dir):
        self.engine = engine
        self.kind = kind
        self.config_dir = config_dir
        self.binary = engine.berth if kind == "berth" else DOCKER

    def env(self):
        e = self.engine.env()
        e["DOCKER_CONFIG"] = self.config_dir
        return e

    def __call__(self, *args, check=True, input=None, timeout=180):
        if isinstance(input, str):
            input = input.encode()
        try:
            r = subprocess.run([self.binary, *args], env=self.env(),
                               input=input, capture_output=True,
                               timeout=timeout)
        except subprocess.TimeoutExpired as e:
            so_far = (e.stdout or b"") + (e.stderr or b"")
            raise AssertionError(
                f"{self.kind} {' '.join(args)} did not finish in {timeout}s;"
                f" output so far:\n{so_far.decode(errors='replace')}") \
                from None
        r.out = r.stdout.decode(errors="replace")
        r.err = r.stderr.decode(errors="replace")
        r.text = r.out + r.err
        if check and r.returncode != 0:
            raise AssertionError(
                f"{self.kind} {' '.join(args)} failed ({r.returncode}):\n"
                f"{r.text}")
        return r

    def popen(self, *args):
        return subprocess.Popen([self.binary, *args], env=self.env(),
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL)

    def image_refs(self):
        """Every repo:tag and repo@digest the engine lists."""
        r = self("images", "--digests", "--format",
                 "{{.Repository}} {{.Tag}} {{.Digest}}")
        refs = set()
        for line in r.out.splitlines():
            parts = line.split()
            if len(parts) != 3:
                continue
            repo, tag, dg = parts
            if tag != "<none>":
                refs.add(f"{repo}:{tag}")
            if dg != "<none>":
                refs.add(f"{repo}@{dg}")
            refs.add(repo)
        return refs

    def config_json(self):
        p = os.path.join(self.config_dir, "config.json")
        if not os.path.exists(p):
            return None, None
        with open(p) as f:
            return json.load(f), os.stat(p).st_mode & 0o777


def image_store_files(engine):
    """Relative paths of everything under the berth image store's blobs/,
    layers/ and tmp/ (None for dockerd, whose layout differs)."""
    if engine.kind != "berthd":
        return None
    root = os.path.join(engine.data_root, "image")
    assert os.path.isdir(os.path.join(root, "blobs")), \
        f"berth's image store is not at {root} (blobs/ layers/ tmp/)"
    found = set()
    for area in ("blobs", "layers", "tmp"):
        top = os.path.join(root, area)
        for dirpath, dirnames, filenames in os.walk(top):
            for n in dirnames + filenames:
                found.add(os.path.relpath(os.path.join(dirpath, n), root))
    return found


def basic_auth(user, password):
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def registry_auth_header(user=None, password=None, server=None):
    """X-Registry-Auth: base64url of the auth JSON ("e30=" for none)."""
    if user is None:
        return "e30="
    doc = {"username": user, "password": password, "serveraddress": server}
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode()


def api(engine, method, path, body=None, headers=None, timeout=120):
    """A raw request to the engine's socket: (status, body bytes).  A
    streamed body is read to its end."""
    import http.client

    class Conn(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(engine.sock)

    c = Conn("localhost", timeout=timeout)
    data = json.dumps(body).encode() if body is not None else None
    h = {"Content-Type": "application/json"} if data is not None else {}
    h.update(headers or {})
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    raw = r.read()
    c.close()
    return r.status, raw


def json_stream(raw):
    """The objects of a JSON-lines progress stream."""
    objs = []
    dec = json.JSONDecoder()
    text = raw.decode(errors="replace")
    i = 0
    while True:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        if i >= len(text):
            return objs
        obj, i = dec.raw_decode(text, i)
        objs.append(obj)


# ---------------------------------------------- berthd with --certs-dir ----

class CertsEngine(Engine):
    """A private berthd like the session `engine`, started with
    `--certs-dir DIR` (the per-registry CA directory, docker's certs.d
    layout: DIR/HOST:PORT/ca.crt).  Nothing is loaded into it."""

    def __init__(self, certs_dir):
        super().__init__()
        self.certs_dir = certs_dir

    def start(self):
        logf = open(self.log, "ab")
        cmd = self.berthd_cmd("--certs-dir", self.certs_dir)
        self.proc = subprocess.Popen(cmd, stdout=logf, stderr=logf,
                                     start_new_session=True)
        logf.close()
        wait_socket(self.sock, self.proc)

    def log_tail(self, n=3000):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return ""
