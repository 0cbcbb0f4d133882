"""Registries: pull, push and login through the engine's API
(`POST /images/create`, `POST /images/{name}/push`, `POST /auth`), driven by
the berth CLI, the real docker CLI and docker-py.

The registries are the reference one (Debian's docker-registry,
distribution 2.8.2) on 127.0.0.1 -- plain, with htpasswd auth, and with TLS
from a CA made here -- and a fake one (registry.FakeRegistry) that
misbehaves on purpose.  Images are built on disk by registry.py without any
engine and put into the registry by skopeo with their bytes unchanged.

With BERTH_TEST_ENGINE=dockerd the same tests run against dockerd 20.10,
which is how their expectations were checked.  Tests of berth-only things
(the berth CLI, `--certs-dir`, the image store's files) skip there.
"""
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from urllib.parse import quote

import pytest

import registry as R

_MISSING = R.missing_tools()
pytestmark = pytest.mark.skipif(
    bool(_MISSING),
    reason="registry tests need the Debian packages " + ", ".join(_MISSING)
    + " (scripts/deps.sh should install them)")

USER, PW = R.TEST_USER, R.TEST_PASSWORD
AUTH_ERR = r"unauthori[sz]ed|authenticat|credentials|\b401\b|denied"
CERT_ERR = r"certificate|x509|tls|ssl"


# ---------------------------------------------------------- fixtures ----

@pytest.fixture(scope="module", autouse=True)
def _rootfs_cleanup():
    yield
    R.remove_busybox_rootfs()


def _registry(**kw):
    reg = R.Registry(**kw)
    try:
        reg.start()
    except Exception:
        reg.stop()
        raise
    return reg


@pytest.fixture(scope="module")
def registry():
    """A plain-HTTP reference registry on 127.0.0.1."""
    reg = _registry()
    yield reg
    reg.stop()


@pytest.fixture(scope="module")
def auth_registry():
    """A reference registry with htpasswd auth (USER / PW)."""
    reg = _registry(auth=(USER, PW))
    yield reg
    reg.stop()


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="berth-regtest-", dir="/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def config_dir(workdir):
    d = os.path.join(workdir, "docker-config")
    os.makedirs(d)
    return d


@pytest.fixture
def fake():
    f = R.FakeRegistry().start()
    yield f
    f.stop()


@pytest.fixture(params=["berth", "docker"])
def cli(request, engine, config_dir):
    """Each of the berth CLI and the docker CLI (berth only with berthd)."""
    if request.param == "berth" and engine.kind != "berthd":
        pytest.skip("the berth CLI is tested against berthd only")
    return R.Client(engine, request.param, config_dir)


@pytest.fixture
def native(engine, config_dir):
    """The engine's own CLI: berth against berthd, docker against dockerd."""
    return R.Client(engine, "berth" if engine.kind == "berthd" else "docker",
                    config_dir)


@pytest.fixture
def docker_cli(engine, config_dir):
    return R.Client(engine, "docker", config_dir)


@pytest.fixture
def cleanup(engine):
    """Image references to `rmi -f` at the end of the test."""
    refs = []
    yield refs
    if refs:
        rmi = engine.cli if engine.kind == "berthd" else engine.docker
        rmi("rmi", "-f", *refs, check=False)


@pytest.fixture
def docker_py(engine, config_dir, monkeypatch):
    docker = pytest.importorskip("docker")
    monkeypatch.setenv("DOCKER_CONFIG", config_dir)
    c = docker.DockerClient(base_url=engine.host, version="auto", timeout=180)
    yield docker, c
    c.close()


# ----------------------------------------------------------- helpers ----

def inspect(client, ref):
    r = client("image", "inspect", ref)
    return json.loads(r.out)[0]


def engine_images(engine):
    st, raw = R.api(engine, "GET", "/v1.41/images/json?all=1")
    assert st == 200, f"GET /images/json answered {st}: {raw[:300]!r}"
    return json.loads(raw)


def repo_of(ref):
    """127.0.0.1:P/a/b:t or ...@sha256:... -> 127.0.0.1:P/a/b"""
    ref = ref.split("@", 1)[0]
    head, _, tail = ref.rpartition("/")
    return f"{head}/{tail.split(':', 1)[0]}"


def scrub(text, *refs):
    """text without the references (and their repos, paths and hosts) in
    it, so that an error pattern cannot match a name the test chose."""
    names = set()
    for ref in refs:
        repo = repo_of(ref)
        host, _, path = repo.partition("/")
        names |= {ref, repo, path, host}
    for n in sorted(names, key=len, reverse=True):
        if n:
            text = text.replace(n, "<ref>")
    return text


def says(text, pattern, *refs):
    """Does text, without the names the test chose, match pattern?"""
    return re.search(pattern, scrub(text, *refs), re.I) is not None


def listed(client, engine, repo):
    """Lines of `images` and API entries that mention repo."""
    hits = [l for l in client("images").out.splitlines()
            if l.split() and l.split()[0] == repo]
    for img in engine_images(engine):
        for t in (img.get("RepoTags") or []) + (img.get("RepoDigests") or []):
            if repo_of(t) == repo:
                hits.append(t)
    return hits


def local_image(engine, ref, unique, extra=b""):
    """A one-layer busybox image new to the engine (docker import), as ref."""
    tar = R.layer_tar(files={"/id": unique.encode() + b"\n" + extra},
                      rootfs=R.busybox_rootfs())
    engine.docker("import", "-c", 'CMD ["sh"]', "-", ref, input=tar)


def assert_pull_failed_cleanly(client, engine, r, ref, pattern, before,
                               what):
    """r (a pull of ref) failed with a message matching pattern, left no
    image and (berthd) no new file in the image store, and the daemon
    still serves."""
    assert r.returncode != 0, \
        f"pulling {ref} ({what}) should fail, but it exited 0:\n{r.text}"
    assert says(r.err, pattern, ref), \
        (f"the error for {what} should match /{pattern}/ on stderr; "
         f"got (exit {r.returncode}):\n{r.text}")
    ps = client("ps", check=False)
    assert ps.returncode == 0, \
        f"the daemon stopped serving after a failed pull ({what}):\n{ps.text}"
    left = listed(client, engine, repo_of(ref))
    assert not left, f"a failed pull ({what}) left an image: {left}"
    after = R.image_store_files(engine)
    if before is not None:
        new = sorted(after - before)
        assert not new, (f"a failed pull ({what}) left {len(new)} new files"
                         f" in the image store, e.g. {new[:10]}")


# ------------------------------------------------------------ pulling ----

def test_pull_and_run(engine, registry, cli, unique, cleanup, workdir):
    """An image skopeo pushed pulls and runs; docker's progress lines."""
    img = R.busybox_image({"/hello": f"hello {unique}\n".encode()},
                          unique_base=unique + cli.kind)
    ref = R.push_layout(registry, img, f"{unique}/bb", "1", workdir)
    cleanup.append(ref)
    r = cli("pull", ref)
    assert f"Digest: {img.digest}" in r.out, r.text
    assert f"Status: Downloaded newer image for {ref}" in r.out, r.text
    assert r.out.strip().splitlines()[-1] == ref, r.text
    r = cli("run", "--rm", ref, "cat", "/hello")
    assert r.out == f"hello {unique}\n"
    info = inspect(cli, ref)
    assert info["Id"] == img.config_digest
    assert f"{registry.host}/{unique}/bb@{img.digest}" in info["RepoDigests"]
    assert ref in info["RepoTags"]
    assert info["RootFS"]["Layers"] == img.diff_ids
    assert info["Architecture"] == "amd64" and info["Os"] == "linux"
    assert info["Config"]["Labels"] == {"berth-test": unique + cli.kind}
    assert listed(cli, engine, repo_of(ref))
    r = cli("pull", ref)
    assert f"Status: Image is up to date for {ref}" in r.out, r.text


@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
def test_pull_layer_compression(engine, registry, native, unique, cleanup,
                                workdir, compression, request):
    if compression == "zstd" and not R.have_zstd():
        pytest.skip("the zstd CLI is missing (Debian package zstd)")
    if compression == "zstd" and engine.kind == "dockerd":
        request.applymarker(pytest.mark.xfail(
            strict=True, reason="dockerd 20.10 cannot unpack zstd layers"))
    img = R.busybox_image({"/compression": compression.encode() + b"\n"},
                          compression, unique_base=unique + compression)
    ref = R.push_layout(registry, img, f"{unique}/{compression}", "1",
                        workdir)
    cleanup.append(ref)
    raw = R.skopeo("inspect", "--raw", "--tls-verify=false", "docker://" + ref)
    assert json.loads(raw.stdout)["layers"][0]["mediaType"] == \
        R.OCI_LAYER[compression], "skopeo changed the layers' compression"
    native("pull", ref)
    r = native("run", "--rm", ref, "cat", "/compression")
    assert r.out == compression + "\n"
    info = inspect(native, ref)
    assert info["RootFS"]["Layers"] == img.diff_ids
    assert info["Id"] == img.config_digest


def test_pull_docker_schema2(engine, registry, native, unique, cleanup,
                             workdir):
    """A docker v2 schema 2 manifest (what most registries hold)."""
    img = R.busybox_image({"/hello": b"schema2\n"}, unique_base=unique)
    ref = R.push_layout(registry, img, f"{unique}/s2", "1", workdir,
                        preserve=False, fmt="v2s2")
    cleanup.append(ref)
    raw = R.skopeo("inspect", "--raw", "--tls-verify=false", "docker://" + ref)
    man = json.loads(raw.stdout)
    assert man["mediaType"] == R.DOCKER_MANIFEST
    native("pull", ref)
    assert native("run", "--rm", ref, "cat", "/hello").out == "schema2\n"
    info = inspect(native, ref)
    assert info["RootFS"]["Layers"] == img.diff_ids
    assert info["Id"] == man["config"]["digest"]
    assert f"{repo_of(ref)}@{R.sha256(raw.stdout.encode())}" in \
        info["RepoDigests"]


def test_pull_by_digest(engine, registry, native, unique, cleanup, workdir):
    img = R.busybox_image({"/hello": b"by digest\n"}, unique_base=unique)
    R.push_layout(registry, img, f"{unique}/dg", "1", workdir)
    repo = f"{registry.host}/{unique}/dg"
    dref = f"{repo}@{img.digest}"
    cleanup.append(dref)
    r = native("pull", dref)
    assert f"Digest: {img.digest}" in r.out, r.text
    assert f"Status: Downloaded newer image for {dref}" in r.out, r.text
    ours = [i for i in engine_images(engine) if i["Id"] == img.config_digest]
    assert len(ours) == 1, f"no image {img.config_digest} after the pull"
    assert dref in (ours[0].get("RepoDigests") or [])
    assert not [t for t in ours[0].get("RepoTags") or []
                if repo_of(t) == repo], "a pull by digest must not tag"
    assert native("run", "--rm", dref, "cat", "/hello").out == "by digest\n"
    missing = f"{repo}@sha256:{'0' * 64}"
    r = native("pull", missing, check=False)
    assert r.returncode != 0, r.text
    assert says(r.err, r"not found|unknown", missing), r.text


def test_pull_unknown_tag_or_repo_fails(engine, registry, native, unique,
                                        workdir):
    img = R.busybox_image({"/x": b"x\n"}, unique_base=unique)
    R.push_layout(registry, img, f"{unique}/here", "1", workdir)
    for ref in (f"{registry.host}/{unique}/here:nope",
                f"{registry.host}/{unique}/nowhere:1"):
        r = native("pull", ref, check=False)
        assert r.returncode != 0, r.text
        assert says(r.err, r"not found|unknown", ref), r.text
        assert ref in r.err or repo_of(ref) in r.err, \
            f"the error should name what was not found:\n{r.err}"
    native("ps")


def test_pull_multiplatform_index(engine, registry, native, unique, cleanup,
                                  workdir):
    """An OCI index of linux/arm64/v8 and linux/amd64: amd64 here by
    default, arm64 with --platform, an error for a platform it lacks."""
    amd = R.busybox_image({"/platform": b"amd64\n"}, arch="amd64",
                          unique_base=unique)
    arm = R.busybox_image({"/platform": b"arm64\n"}, arch="arm64",
                          variant="v8", unique_base=unique)
    idx = R.Index([arm, amd])  # amd64 second: not just "the first entry"
    ref = R.push_layout(registry, idx, f"{unique}/multi", "1", workdir)
    cleanup.append(ref)
    r = native("pull", ref)
    assert f"Digest: {idx.digest}" in r.out, \
        f"the pull should report the index's digest:\n{r.text}"
    info = inspect(native, ref)
    assert info["Architecture"] == "amd64"
    assert info["Id"] == amd.config_digest
    assert info["RootFS"]["Layers"] == amd.diff_ids
    assert f"{repo_of(ref)}@{idx.digest}" in info["RepoDigests"]
    assert native("run", "--rm", ref, "cat", "/platform").out == "amd64\n"

    native("pull", "--platform", "linux/arm64", ref)
    info = inspect(native, ref)
    assert info["Architecture"] == "arm64", info["Architecture"]
    assert info["Id"] == arm.config_digest
    assert info["RootFS"]["Layers"] == arm.diff_ids
    cleanup.append(arm.config_digest)
    cleanup.append(amd.config_digest)

    dref = f"{repo_of(ref)}@{idx.digest}"
    cleanup.append(dref)
    native("rmi", "-f", ref)
    native("pull", dref)
    assert inspect(native, dref)["Id"] == amd.config_digest

    r = native("pull", "--platform", "linux/s390x", ref, check=False)
    assert r.returncode != 0, r.text
    assert says(r.err, r"no matching manifest|platform", ref), r.text


def _pull_together(native, ref, n=2, timeout=60):
    """n pulls of ref at once; [(exit code, output)], a pull that hangs
    past the deadline counting as a failure."""
    procs = [native.popen("pull", ref) for _ in range(n)]
    deadline = time.time() + timeout
    results = []
    for p in procs:
        try:
            o, e = p.communicate(timeout=max(1, deadline - time.time()))
            results.append((p.returncode, (o + e).decode(errors="replace")))
        except subprocess.TimeoutExpired:
            p.kill()
            o, e = p.communicate()
            results.append((f"still running after {timeout}s (deadlock?)",
                            (o + e).decode(errors="replace")))
    return results


@pytest.mark.parametrize("order", ["same", "crossed"])
def test_concurrent_pulls_of_one_image(engine, fake, native, unique,
                                       cleanup, order):
    """Two pulls of one image at once both succeed.  "crossed": the
    registry holds back the first request for one layer and the second
    for the other, so each pull gets its layers in the other's order."""
    img = R.busybox_image({"/hello": b"together\n"},
                          unique_base=unique + order)
    base, top = img.layers
    if order == "same":
        for l in img.layers:
            fake.blob_modes[l.digest] = "slow"  # ~1 s: the pulls overlap
    else:
        fake.blob_delays[base.digest] = [0, 1.0]
        fake.blob_delays[top.digest] = [1.0, 0]
    ref = fake.add(f"{unique}/conc", "1", img)
    cleanup.append(ref)
    for rc, text in _pull_together(native, ref):
        assert rc == 0, f"one of two concurrent pulls failed ({rc}):\n{text}"
    ours = [i for i in engine_images(engine) if i["Id"] == img.config_digest]
    assert len(ours) == 1 and ref in ours[0]["RepoTags"], ours
    assert native("run", "--rm", ref, "cat", "/hello").out == "together\n"


def test_pull_resumes_dropped_download_with_range(engine, fake, native,
                                                  unique, cleanup):
    """The registry drops the connection half way through the big layer
    once; the retry asks for the rest with Range and the pull succeeds."""
    img = R.busybox_image({"/hello": b"resumed\n"}, unique_base=unique)
    big = img.layers[0]
    fake.blob_modes[big.digest] = "drop-once"
    ref = fake.add(f"{unique}/resume", "1", img)
    cleanup.append(ref)
    native("pull", ref, timeout=240)
    gets = fake.gets_of(big.digest)
    assert len(gets) >= 2, f"the dropped download was not retried: {gets}"
    ranges = [h.get("Range") or h.get("range")
              for _, _, h in fake.range_gets_of(big.digest)]
    assert ranges, ("the retry should resume with a Range request; "
                    f"requests for the layer: {[g[2] for g in gets]}")
    m = re.match(r"bytes=(\d+)-", ranges[0])
    assert m and 0 < int(m.group(1)) <= big.size // 2, \
        f"the Range should start where the dropped body stopped: {ranges}"
    assert native("run", "--rm", ref, "cat", "/hello").out == "resumed\n"
    assert inspect(native, ref)["RootFS"]["Layers"] == img.diff_ids


def test_pull_follows_blob_redirect(engine, fake, native, unique, cleanup):
    """Registries send blobs elsewhere with a 307 (S3 and the like)."""
    img = R.busybox_image({"/hello": b"redirected\n"}, unique_base=unique)
    for l in img.layers + [img.config]:
        fake.blob_modes[l.digest] = "redirect-once"
    ref = fake.add(f"{unique}/redir", "1", img)
    cleanup.append(ref)
    native("pull", ref)
    assert fake.seen(lambda m, p, h: p.startswith("/elsewhere/"))
    assert native("run", "--rm", ref, "cat", "/hello").out == "redirected\n"


# ------------------------------------------------ hostile registries ----

def _tamper_gzip_header(data):
    """Change the gzip header's MTIME: still a valid gzip of the same
    content, but not the bytes the digest names."""
    assert data[:2] == b"\x1f\x8b"
    b = bytearray(data)
    b[4] ^= 0x01
    return bytes(b)


def _hostile(case, fake, img, repo):
    """Arrange `case` on the fake; returns (ref to pull, error pattern, a
    predicate over the fake's requests that shows the engine got as far as
    the hostile part)."""
    top, base = img.layers[1], img.layers[0]
    fake.add(repo, "good", img)  # blobs and the manifest by digest
    tag_ref = f"{fake.host}/{repo}:1"
    asked_manifest = lambda m, p, h: "/manifests/" in p and m == "GET"

    def fetched(digest):
        return lambda m, p, h: m == "GET" and p.endswith(digest)

    def manifest_with(obj, ctype=R.OCI_MANIFEST):
        body = json.dumps(obj, indent=1).encode()
        fake.put_manifest(repo, "1", body, ctype)
        return body

    if case == "tamper-layer":
        fake.blobs[top.digest] = _tamper_gzip_header(top.data)
        fake.put_manifest(repo, "1", img.manifest, img.media_type)
        return tag_ref, r"digest", fetched(top.digest)
    if case == "tamper-config":
        fake.blobs[img.config.digest] = img.config.data.replace(
            b"layer 0", b"layer 9")
        fake.put_manifest(repo, "1", img.manifest, img.media_type)
        return tag_ref, r"digest", fetched(img.config.digest)
    if case == "tamper-manifest":
        # pulled by digest; the bytes served are not the ones it names
        fake.put_manifest(repo, img.digest, img.manifest + b"\n",
                          img.media_type, digest=img.digest)
        return (f"{fake.host}/{repo}@{img.digest}", r"digest",
                fetched(img.digest))
    if case in ("size-short", "size-long"):
        obj = json.loads(img.manifest)
        obj["layers"][1]["size"] = top.size + (-16 if case == "size-short"
                                               else 4096)
        manifest_with(obj)
        return tag_ref, r"size|length|digest|exceed|too (big|large|long)|" \
            r"short|truncat|EOF", fetched(top.digest)
    if case == "truncated":
        fake.blob_modes[base.digest] = "truncate"
        fake.put_manifest(repo, "1", img.manifest, img.media_type)
        return (tag_ref, r"EOF|truncat|short|incomplete|partial|closed|"
                r"unexpected end|premature|size|length", fetched(base.digest))
    if case == "redirect-loop":
        fake.blob_modes[top.digest] = "redirect-loop"
        fake.put_manifest(repo, "1", img.manifest, img.media_type)
        return tag_ref, r"redirect", fetched(top.digest)
    confusion = r"media.?type|content.?type|index|manifests|ambiguous|" \
        r"expected|unsupported"
    if case == "index-as-manifest":
        # asked for a manifest (content type says so), got an index
        manifest_with({"schemaVersion": 2, "mediaType": R.OCI_INDEX,
                       "manifests": [img.descriptor()]})
        return tag_ref, confusion, asked_manifest
    if case == "ambiguous-manifest":
        # CVE-2021-41190: a manifest that also has "manifests"
        obj = json.loads(img.manifest)
        other = R.busybox_image({"/other": b"1\n"}, unique_base=repo)
        fake.add(repo, "other", other)
        obj["manifests"] = [other.descriptor()]
        manifest_with(obj)
        return tag_ref, confusion, asked_manifest
    if case == "content-type-mismatch":
        # Content-Type says index, the document is a manifest
        fake.put_manifest(repo, "1", img.manifest, R.OCI_INDEX)
        return tag_ref, confusion, asked_manifest
    if case == "nested-index":
        # the index's amd64 entry says "manifest" but leads to an index
        inner = {"schemaVersion": 2, "mediaType": R.OCI_INDEX,
                 "manifests": [img.descriptor()]}
        body = json.dumps(inner).encode()
        dg = R.sha256(body)
        fake.put_manifest(repo, dg, body, R.OCI_INDEX)
        outer = {"schemaVersion": 2, "mediaType": R.OCI_INDEX,
                 "manifests": [{"mediaType": R.OCI_MANIFEST, "digest": dg,
                                "size": len(body),
                                "platform": {"architecture": "amd64",
                                             "os": "linux"}}]}
        manifest_with(outer, R.OCI_INDEX)
        return tag_ref, confusion, fetched(dg)
    raise ValueError(case)


HOSTILE = ["tamper-layer", "tamper-config", "tamper-manifest", "size-short",
           "size-long", "truncated", "redirect-loop", "index-as-manifest",
           "ambiguous-manifest", "content-type-mismatch", "nested-index"]


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_registry_fails_cleanly(engine, fake, native, unique,
                                        cleanup, case, request):
    img = R.busybox_image({"/hello": b"hostile\n"},
                          unique_base=unique + case)
    repo = f"{unique}/h"  # holds no word an error pattern looks for
    if engine.kind == "dockerd" and case in ("size-short", "size-long"):
        request.applymarker(pytest.mark.xfail(
            strict=True, reason="dockerd 20.10 checks digests but not the "
            "descriptor's size; berth must check both"))
    ref, pattern, reached = _hostile(case, fake, img, repo)
    cleanup.append(ref)
    before = R.image_store_files(engine)
    r = native("pull", ref, check=False, timeout=240)
    print(f"[{case}] exit {r.returncode}: {r.err.strip()}")
    assert fake.seen(reached), \
        (f"the engine never reached the hostile part ({case}); "
         f"requests: {[(m, p) for m, p, _ in fake.requests]}\n{r.text}")
    assert_pull_failed_cleanly(native, engine, r, ref, pattern, before, case)
    if case == "redirect-loop":
        loops = fake.seen(lambda m, p, h: p.startswith("/loop/"))
        # dockerd 20.10: 5 attempts of 1 + 10 redirects (Go's limit) each
        assert len(loops) <= 150, \
            f"{len(loops)} requests followed the redirect loop"


def test_failed_pull_error_reaches_docker_cli_and_docker_py(
        engine, fake, docker_cli, docker_py, unique):
    """The error in the progress stream is what the docker CLI prints and
    what docker-py raises."""
    docker, c = docker_py
    img = R.busybox_image({"/hello": b"x\n"}, unique_base=unique)
    ref, pattern, _ = _hostile("tamper-layer", fake, img, f"{unique}/t")
    before = R.image_store_files(engine)
    r = docker_cli("pull", ref, check=False, timeout=240)
    assert_pull_failed_cleanly(docker_cli, engine, r, ref, pattern, before,
                               "tampered layer, docker CLI")
    with pytest.raises(docker.errors.APIError) as ei:
        c.images.pull(repo_of(ref), tag="1")
    assert says(str(ei.value), pattern + "|not found", ref), \
        str(ei.value)
    docker_cli("ps")


def test_pull_through_the_api(engine, registry, unique, cleanup, workdir):
    """POST /images/create streams JSON progress; a missing tag is an error
    the client sees (an HTTP error, or an error object in the stream)."""
    img = R.busybox_image({"/hello": b"api\n"}, unique_base=unique)
    ref = R.push_layout(registry, img, f"{unique}/api", "1", workdir)
    cleanup.append(ref)
    repo = quote(repo_of(ref), safe="")
    st, raw = R.api(engine, "POST",
                    f"/v1.41/images/create?fromImage={repo}&tag=1",
                    headers={"X-Registry-Auth": "e30="})
    assert st == 200, raw[:500]
    objs = R.json_stream(raw)
    assert objs and not [o for o in objs if "error" in o], objs
    statuses = [o.get("status", "") for o in objs]
    assert f"Digest: {img.digest}" in statuses, statuses
    assert any(s.startswith("Status: Downloaded newer image for")
               for s in statuses), statuses
    st, raw = R.api(engine, "GET",
                    f"/v1.41/images/{quote(ref, safe='')}/json")
    assert st == 200 and json.loads(raw)["Id"] == img.config_digest

    st, raw = R.api(engine, "POST",
                    f"/v1.41/images/create?fromImage={repo}&tag=nope",
                    headers={"X-Registry-Auth": "e30="})
    if st == 200:
        last = R.json_stream(raw)[-1]
        assert "error" in last and "errorDetail" in last, last
        msg = last["error"]
    else:
        assert 400 <= st < 600
        msg = json.loads(raw)["message"]
    assert says(msg, r"not found|unknown", ref), msg


def test_pull_with_docker_py(engine, registry, docker_py, unique, cleanup,
                             workdir):
    docker, c = docker_py
    img = R.busybox_image({"/hello": b"py\n"}, unique_base=unique)
    ref = R.push_layout(registry, img, f"{unique}/py", "1", workdir)
    cleanup.append(ref)
    im = c.images.pull(repo_of(ref), tag="1")
    assert im.id == img.config_digest and ref in im.tags
    assert c.containers.run(ref, ["cat", "/hello"], remove=True) == b"py\n"


# ------------------------------------------------------------ pushing ----

def test_push_then_skopeo_reads_it(engine, registry, cli, unique, cleanup,
                                   workdir):
    ref = f"{registry.host}/{unique}/pushed:1"
    local_image(engine, ref, unique + cli.kind)
    cleanup.append(ref)
    r = cli("push", ref)
    m = re.search(r"^1: digest: (sha256:[0-9a-f]{64}) size: (\d+)$", r.out,
                  re.M)
    assert m, f"no '1: digest: sha256:... size: N' line:\n{r.text}"
    info = inspect(cli, ref)
    assert f"{repo_of(ref)}@{m.group(1)}" in info["RepoDigests"], \
        "after a push the image should know its digest in that repo"
    sk = R.skopeo("inspect", "--tls-verify=false", "docker://" + ref)
    assert sk.returncode == 0, sk.stderr
    meta = json.loads(sk.stdout)
    assert meta["Digest"] == m.group(1)
    assert len(meta["Layers"]) == len(info["RootFS"]["Layers"]) == 1
    raw = R.skopeo("inspect", "--raw", "--tls-verify=false",
                   "docker://" + ref).stdout
    assert R.sha256(raw.encode()) == m.group(1)
    man = json.loads(raw)
    assert int(m.group(2)) == len(raw.encode())
    assert man["config"]["digest"] == info["Id"], \
        "the pushed config should be the image's own (its ID)"
    cfg = json.loads(R.skopeo("inspect", "--config", "--tls-verify=false",
                              "docker://" + ref).stdout)
    assert cfg["rootfs"]["diff_ids"] == info["RootFS"]["Layers"]
    d = os.path.join(workdir, "copied")
    R.skopeo_copy("docker://" + ref, f"oci:{d}:1", preserve=False)
    _, names = R.read_oci_layout_files(d)
    assert "bin/busybox" in names and "id" in names, sorted(names)[:20]


def test_push_twice_says_layer_already_exists(engine, registry, native,
                                              unique, cleanup):
    ref = f"{registry.host}/{unique}/twice:1"
    local_image(engine, ref, unique)
    cleanup.append(ref)
    first = native("push", ref)
    assert "Layer already exists" not in first.out, first.text
    assert re.search(r"\bPushed\b", first.out), first.text
    second = native("push", ref)
    assert "Layer already exists" in second.out, second.text
    d1, d2 = (re.findall(r"digest: (sha256:[0-9a-f]{64})", x.out)
              for x in (first, second))
    assert d1 and d1 == d2, (first.text, second.text)


def test_push_to_another_repo_mounts_the_layers(engine, registry, native,
                                                unique, cleanup, workdir):
    a = f"{registry.host}/{unique}/a:1"
    b = f"{registry.host}/{unique}/b:1"
    local_image(engine, a, unique)
    native("tag", a, b)
    cleanup += [a, b]
    native("push", a)
    r = native("push", b)
    assert f"Mounted from {unique}/a" in r.out, \
        f"the layer should be mounted from {unique}/a, not uploaded:\n{r.text}"
    sk = R.skopeo("inspect", "--tls-verify=false", "docker://" + b)
    assert sk.returncode == 0, sk.stderr
    assert len(json.loads(sk.stdout)["Layers"]) == 1


def test_push_pull_roundtrip(engine, registry, native, unique, cleanup):
    ref = f"{registry.host}/{unique}/round:1"
    local_image(engine, ref, unique, extra=b"round trip\n")
    cleanup.append(ref)
    before = inspect(native, ref)
    native("push", ref)
    native("rmi", ref)
    native("pull", ref)
    after = inspect(native, ref)
    assert after["Id"] == before["Id"]
    assert after["RootFS"]["Layers"] == before["RootFS"]["Layers"]
    r = native("run", "--rm", ref, "cat", "/id")
    assert r.out == f"{unique}\nround trip\n"


def test_push_with_docker_py(engine, registry, docker_py, unique, cleanup):
    docker, c = docker_py
    ref = f"{registry.host}/{unique}/pypush:1"
    local_image(engine, ref, unique)
    cleanup.append(ref)
    lines = list(c.images.push(repo_of(ref), tag="1", stream=True,
                               decode=True))
    errs = [l for l in lines if "error" in l]
    assert not errs, errs
    aux = [l["aux"] for l in lines if "aux" in l]
    assert aux and aux[-1]["Tag"] == "1" and \
        aux[-1]["Digest"].startswith("sha256:"), lines
    sk = R.skopeo("inspect", "--tls-verify=false", "docker://" + ref)
    assert sk.returncode == 0 and \
        json.loads(sk.stdout)["Digest"] == aux[-1]["Digest"], sk.stderr


def test_push_of_a_missing_image_fails(engine, registry, native, unique):
    ref = f"{registry.host}/{unique}/nothing:1"
    r = native("push", ref, check=False)
    assert r.returncode != 0, r.text
    assert says(r.err, r"does not exist|no such image", ref), r.text


# -------------------------------------------------------------- login ----

def test_login_pull_push_logout(engine, auth_registry, cli, unique, cleanup,
                                workdir):
    host = auth_registry.host
    img = R.busybox_image({"/hello": b"private\n"},
                          unique_base=unique + cli.kind)
    ref = R.push_layout(auth_registry, img, f"{unique}/private", "1",
                        workdir)
    cleanup.append(ref)

    r = cli("pull", ref, check=False)
    assert r.returncode != 0, "pulling a private repo without login worked"
    assert says(r.err, AUTH_ERR, ref), r.text
    assert not listed(cli, engine, repo_of(ref))

    r = cli("login", "-u", USER, "--password-stdin", host, input="wrong\n",
            check=False)
    assert r.returncode != 0, f"login with a wrong password worked:\n{r.text}"
    assert says(r.err, AUTH_ERR, ref), r.text
    cfg, _ = cli.config_json()
    assert not (cfg or {}).get("auths", {}).get(host), cfg

    r = cli("login", "-u", USER, "--password-stdin", host, input=PW + "\n")
    assert "Login Succeeded" in r.out, r.text
    cfg, mode = cli.config_json()
    assert cfg is not None, "login wrote no DOCKER_CONFIG/config.json"
    assert mode == 0o600, f"config.json has mode {oct(mode)}"
    auth = cfg["auths"][host]["auth"]
    assert base64.b64decode(auth).decode() == f"{USER}:{PW}"

    cli("pull", ref)
    assert cli("run", "--rm", ref, "cat", "/hello").out == "private\n"
    other = f"{host}/{unique}/private-copy:2"
    cli("tag", ref, other)
    cleanup.append(other)
    cli("push", other)
    sk = R.skopeo("inspect", "--tls-verify=false", "--creds",
                  f"{USER}:{PW}", "docker://" + other)
    assert sk.returncode == 0, sk.stderr

    r = cli("logout", host)
    assert f"Removing login credentials for {host}" in r.out, r.text
    cfg, _ = cli.config_json()
    assert host not in (cfg or {}).get("auths", {}), cfg
    cli("rmi", ref, other)
    r = cli("pull", ref, check=False)
    assert r.returncode != 0, "pull after logout still worked"
    assert says(r.err, AUTH_ERR, ref), r.text


def test_push_without_login_is_refused(engine, auth_registry, native,
                                       unique, cleanup):
    ref = f"{auth_registry.host}/{unique}/nologin:1"
    local_image(engine, ref, unique)
    cleanup.append(ref)
    r = native("push", ref, check=False)
    assert r.returncode != 0, r.text
    assert says(r.err, AUTH_ERR, ref), r.text
    sk = R.skopeo("inspect", "--tls-verify=false", "--creds", f"{USER}:{PW}",
                  "docker://" + ref)
    assert sk.returncode != 0, "the image got into the registry"


def test_auth_api_and_docker_py(engine, auth_registry, docker_py, unique,
                                cleanup, workdir):
    """POST /auth, X-Registry-Auth on pull, and docker-py's login."""
    docker, c = docker_py
    host = auth_registry.host
    st, raw = R.api(engine, "POST", "/v1.41/auth",
                    {"username": USER, "password": PW,
                     "serveraddress": host})
    assert st == 200, raw
    assert json.loads(raw)["Status"] == "Login Succeeded"
    st, raw = R.api(engine, "POST", "/v1.41/auth",
                    {"username": USER, "password": "wrong",
                     "serveraddress": host})
    # dockerd 20.10 answers 500 ("login attempt to http://.../v2/ failed
    # with status: 401 Unauthorized"); 401 is what it should be.
    assert st in (401, 500), (st, raw)
    assert says(json.loads(raw)["message"], AUTH_ERR, host + "/x"), raw

    img = R.busybox_image({"/hello": b"py private\n"}, unique_base=unique)
    ref = R.push_layout(auth_registry, img, f"{unique}/pypriv", "1", workdir)
    cleanup.append(ref)
    repo = quote(repo_of(ref), safe="")
    st, raw = R.api(engine, "POST",
                    f"/v1.41/images/create?fromImage={repo}&tag=1",
                    headers={"X-Registry-Auth": R.registry_auth_header(
                        USER, PW, host)})
    assert st == 200 and not [o for o in R.json_stream(raw) if "error" in o],\
        raw[-500:]
    R.api(engine, "DELETE", f"/v1.41/images/{quote(ref, safe='')}?force=1")

    with pytest.raises(docker.errors.APIError):
        c.images.pull(repo_of(ref), tag="1")
    res = c.login(USER, PW, registry=host, reauth=True)
    assert res["Status"] == "Login Succeeded", res
    im = c.images.pull(repo_of(ref), tag="1")
    assert im.id == img.config_digest
    other = f"{host}/{unique}/pypriv2"
    assert im.tag(other, "1")
    cleanup.append(other + ":1")
    lines = list(c.images.push(other, tag="1", stream=True, decode=True))
    assert not [l for l in lines if "error" in l], lines


# ---------------------------------------------------------------- TLS ----

@pytest.fixture
def tls_registry(workdir):
    tls = R.make_tls(os.path.join(workdir, "pki"))
    reg = _registry(tls=tls)
    yield reg
    reg.stop()


def _skip_tls_on_dockerd(engine):
    if engine.kind != "berthd":
        pytest.skip("dockerd treats 127.0.0.0/8 as an insecure registry "
                    "(no verification) and reads /etc/docker/certs.d")


def test_tls_registry_with_unknown_ca_is_refused(engine, tls_registry,
                                                 native, unique, workdir):
    _skip_tls_on_dockerd(engine)
    img = R.busybox_image({"/hello": b"tls\n"}, unique_base=unique)
    ref = R.push_layout(tls_registry, img, f"{unique}/secure", "1", workdir)
    before = R.image_store_files(engine)
    r = native("pull", ref, check=False)
    assert_pull_failed_cleanly(native, engine, r, ref, CERT_ERR, before,
                               "a certificate from an unknown CA")


def test_tls_registry_with_ca_in_certs_dir(engine, tls_registry, unique,
                                           workdir, config_dir):
    """berthd --certs-dir DIR: DIR/127.0.0.1:PORT/ca.crt makes the test
    CA trusted for that registry only."""
    _skip_tls_on_dockerd(engine)
    img = R.busybox_image({"/hello": b"trusted\n"}, unique_base=unique)
    ref = R.push_layout(tls_registry, img, f"{unique}/secure", "1", workdir)
    certs = os.path.join(workdir, "certs.d")
    os.makedirs(certs)
    ce = R.CertsEngine(certs)
    try:
        try:
            ce.start()
        except RuntimeError as e:
            pytest.fail(f"berthd --certs-dir {certs} did not start: {e}\n"
                        f"{ce.log_tail()}")
        c = R.Client(ce, "berth", config_dir)
        before = R.image_store_files(ce)
        r = c("pull", ref, check=False)
        assert_pull_failed_cleanly(c, ce, r, ref, CERT_ERR, before,
                                   "no CA in the certs dir yet")
        os.makedirs(os.path.join(certs, tls_registry.host))
        shutil.copy(tls_registry.tls["ca"],
                    os.path.join(certs, tls_registry.host, "ca.crt"))
        c("pull", ref)
        assert c("run", "--rm", ref, "cat", "/hello").out == "trusted\n"
        other = f"{tls_registry.host}/{unique}/secure2:1"
        c("tag", ref, other)
        c("push", other)
        cd = os.path.join(workdir, "skopeo-certs")
        os.makedirs(cd)
        shutil.copy(tls_registry.tls["ca"], os.path.join(cd, "ca.crt"))
        sk = R.skopeo("inspect", "--cert-dir", cd, "docker://" + other)
        assert sk.returncode == 0, sk.stderr
    finally:
        ce.teardown()


# ------------------------------------------------------- bearer tokens ----

def test_pull_with_bearer_token(engine, fake, native, unique, cleanup):
    """The registry answers 401 with a Bearer challenge; the token server
    is asked once for the repository's pull scope (service included), and
    every registry request then carries that token."""
    fake.bearer = True
    img = R.busybox_image({"/t": b"token\n"}, unique_base=unique + "tok")
    ref = fake.add(f"{unique}/tok", "1", img)
    cleanup.append(ref)
    native("pull", ref)
    assert native("run", "--rm", ref, "cat", "/t").out == "token\n"
    asked = [q for q in fake.token_requests
             if q.get("scope") == [f"repository:{unique}/tok:pull"]]
    assert asked, fake.token_requests
    assert all(q.get("service") == ["fake-registry"] for q in asked)
    # One token for the whole pull (cached), not one per request.
    assert len(asked) == 1, asked
    blob_gets = fake.seen(lambda m, p, h: m == "GET" and "/blobs/" in p)
    assert blob_gets and all(
        h.get("Authorization", "").startswith("Bearer tok-")
        for _, _, h in blob_gets), blob_gets


def test_bearer_token_server_credentials(engine, fake, native, unique,
                                         cleanup):
    """A token server that wants credentials: anonymous pulls are refused,
    `login` checks them through the token server, and pulls work after."""
    fake.bearer = True
    fake.token_users = {"tok-user": "tok-pass"}
    img = R.busybox_image({"/t": b"private\n"}, unique_base=unique + "tp")
    ref = fake.add(f"{unique}/tokpriv", "1", img)
    cleanup.append(ref)
    before = R.image_store_files(engine) if engine.kind == "berthd" else None
    r = native("pull", ref, check=False)
    assert r.returncode != 0, r.text
    assert says(r.err, r"unauthorized|denied|authentication|incorrect", ref), \
        r.text
    if before is not None:
        assert R.image_store_files(engine) - before == set()
    r = native("login", "-u", "tok-user", "--password-stdin", fake.host,
               input="wrong\n", check=False)
    assert r.returncode != 0, r.text
    native("login", "-u", "tok-user", "--password-stdin", fake.host,
           input="tok-pass\n")
    native("pull", ref)
    assert native("run", "--rm", ref, "cat", "/t").out == "private\n"


def test_credentials_not_sent_to_another_host_on_redirect(engine, fake,
                                                          native, unique,
                                                          cleanup):
    """A blob redirected to another host (port) is fetched without the
    registry's Authorization header: tokens stay with the registry."""
    other = R.FakeRegistry().start()
    try:
        fake.other = other
        fake.bearer = True
        img = R.busybox_image({"/r": b"elsewhere\n"},
                              unique_base=unique + "oh")
        for l in img.layers:
            fake.blob_modes[l.digest] = "redirect-other-host"
        ref = fake.add(f"{unique}/oh", "1", img)
        cleanup.append(ref)
        native("pull", ref)
        assert native("run", "--rm", ref, "cat", "/r").out == "elsewhere\n"
        got = other.seen(lambda m, p, h: m == "GET" and "/elsewhere/" in p)
        assert len(got) >= len(img.layers), other.requests
        leaked = [h for _, _, h in got
                  if any(k.lower() == "authorization" for k in h)]
        assert not leaked, f"credentials went to another host: {leaked}"
    finally:
        other.stop()


def test_push_large_layer_in_chunks(engine, registry, native, unique,
                                    cleanup, workdir):
    """A layer over berth's chunk size (32 MiB) goes up in PATCH chunks
    and arrives whole: skopeo sees its digest, and it pulls back
    bit-identical."""
    if engine.kind != "berthd":
        pytest.skip("the chunk size is berth's")
    big = os.urandom(34 << 20)  # incompressible: the blob stays > 32 MiB
    tar = R.layer_tar(files={"/big": big, "/id": unique.encode() + b"\n"},
                      rootfs=R.busybox_rootfs())
    ref = f"{registry.host}/{unique}/big:1"
    engine.docker("import", "-c", 'CMD ["sh"]', "-", ref, input=tar,
                  timeout=120)
    cleanup.append(ref)
    before = inspect(native, ref)
    native("push", ref, timeout=300)
    patches = [l for l in open(registry.log, errors="replace")
               if "PATCH" in l and f"/v2/{unique}/big/blobs/uploads/" in l]
    assert len(patches) >= 2, "expected a chunked upload (PATCH requests)"
    out = subprocess.run(["skopeo", "inspect", "--tls-verify=false",
                          f"docker://{ref}"], capture_output=True, text=True,
                         check=True).stdout
    assert len(json.loads(out)["Layers"]) == 1
    native("rmi", ref)
    native("pull", ref, timeout=300)
    after = inspect(native, ref)
    assert after["Id"] == before["Id"]
    r = native("run", "--rm", ref, "sha256sum", "/big")
    assert r.out.split()[0] == hashlib.sha256(big).hexdigest()


def test_foreign_layer_refused(engine, fake, native, unique):
    """A non-distributable (foreign) layer with URLs elsewhere is not
    fetched unless the daemon allows it: a clear error, nothing kept."""
    if engine.kind != "berthd":
        pytest.skip("dockerd 20.10 fetches foreign layers from their URLs")
    img = R.busybox_image({"/f": b"foreign\n"}, unique_base=unique + "fl")
    desc = img.manifest_obj["layers"][1]
    desc["mediaType"] = \
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
    desc["urls"] = ["https://foreign.invalid/layer"]
    img.manifest = json.dumps(img.manifest_obj).encode()
    img.digest = R.sha256(img.manifest)
    img.size = len(img.manifest)
    ref = fake.add(f"{unique}/foreign", "1", img)
    before = R.image_store_files(engine)
    r = native("pull", ref, check=False)
    assert_pull_failed_cleanly(native, engine, r, ref,
                               r"non-distributable|foreign", before,
                               "a foreign layer")
    assert not fake.gets_of(desc["digest"]), "the foreign layer was fetched"


def test_cancelled_pull_leaves_nothing(engine, fake, native, unique):
    """The client goes away in the middle of a download: the daemon stops
    the pull (as docker does), keeps no image, blob or layer, and leaves no
    worker process behind."""
    if engine.kind != "berthd":
        pytest.skip("checks berthd's store and workers")
    img = R.busybox_image({"/c": b"cancel\n"}, unique_base=unique + "cx")
    for l in img.layers:
        fake.blob_modes[l.digest] = "slow"
    fake.slow_delay = 0.2  # a ~1 MB layer takes a few seconds
    ref = fake.add(f"{unique}/cancel", "1", img)
    before = R.image_store_files(engine)
    p = native.popen("pull", ref)
    deadline = time.time() + 20
    while time.time() < deadline and not fake.seen(
            lambda m, pa, h: m == "GET" and "/blobs/" in pa and
            pa.endswith(img.layers[0].digest)):
        time.sleep(0.05)
    time.sleep(0.3)
    p.kill()
    p.communicate()
    daemon = engine.proc.pid

    def workers():
        kids = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat") as f:
                    st = f.read()
            except OSError:
                continue
            # A pull worker: berthd's child berth-worker (or a fork of
            # berthd on its way to exec it).
            name = st.split("(", 1)[1].rsplit(")", 1)[0]
            if int(st.rsplit(")", 1)[1].split()[1]) == daemon and \
                    name in ("berthd", "berth-worker"):
                kids.append(int(pid))
        return kids

    deadline = time.time() + 15
    while time.time() < deadline and workers():
        time.sleep(0.1)
    assert not workers(), "the pull worker outlived its cancelled request"
    assert R.image_store_files(engine) - before == set()
    assert ref not in native.image_refs()
    assert native("ps").returncode == 0


def test_pull_all_tags(engine, registry, native, unique, cleanup, workdir):
    """pull -a brings every tag of the repository."""
    imgs = {}
    for tag in ("a", "b"):
        imgs[tag] = R.busybox_image({"/tag": tag.encode() + b"\n"},
                                    unique_base=unique + "all")
        R.push_layout(registry, imgs[tag], f"{unique}/all", tag, workdir)
    repo = f"{registry.host}/{unique}/all"
    cleanup.extend([f"{repo}:a", f"{repo}:b"])
    native("pull", "-a", repo)
    for tag in ("a", "b"):
        r = native("run", "--rm", f"{repo}:{tag}", "cat", "/tag")
        assert r.out == f"{tag}\n"


def test_daemon_serves_during_a_pull(engine, fake, native, unique, cleanup):
    """A slow pull runs beside the daemon, not in it: other requests are
    answered meanwhile, and the credentials given to the pull appear in
    no process's command line."""
    img = R.busybox_image({"/s": b"slow\n"}, unique_base=unique + "sl")
    for l in img.layers:
        fake.blob_modes[l.digest] = "slow"
    fake.slow_delay = 0.1
    ref = fake.add(f"{unique}/slow", "1", img)
    cleanup.append(ref)
    auth = base64.urlsafe_b64encode(json.dumps(
        {"username": "someone", "password": "pw-" + unique}).encode())
    import http.client

    class UnixConn(http.client.HTTPConnection):
        def connect(self):
            import socket
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.connect(engine.sock)

    c = UnixConn("localhost", timeout=60)
    c.request("POST", f"/images/create?fromImage={repo_of(ref)}&tag=1",
              headers={"X-Registry-Auth": auth.decode()})
    resp = c.getresponse()
    assert resp.status == 200
    t0 = time.time()
    assert native("ps").returncode == 0
    assert time.time() - t0 < 2, "the daemon stalled during a pull"
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    assert ("pw-" + unique).encode() not in f.read(), \
                        f"the password is in process {pid}'s command line"
            except OSError:
                pass
    body = resp.read().decode()
    c.close()
    assert "Downloaded newer image" in body, body
