"""Attacker's checklist: a build context the daemon refuses must be
refused in words - which entry, and why - never as "the registry worker
failed" (issue 13)."""
import io
import tarfile

import pytest


def context_tar(kind, dockerfile):
    buf = io.BytesIO()
    # GNU format with latin-1: names are raw bytes, not necessarily UTF-8.
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT,
                      encoding="latin-1") as t:
        ti = tarfile.TarInfo("Dockerfile")
        ti.size = len(dockerfile)
        t.addfile(ti, io.BytesIO(dockerfile))
        if kind == "symlink-then-through":
            # A symlink out of the context, then a file written through
            # it: libarchive's secure-symlinks check refuses the second.
            ti = tarfile.TarInfo("out")
            ti.type = tarfile.SYMTYPE
            ti.linkname = "/tmp"
            t.addfile(ti)
            ti = tarfile.TarInfo("out/berth-ctx-evil")
            ti.size = 4
            t.addfile(ti, io.BytesIO(b"evil"))
        elif kind == "dotdot":
            ti = tarfile.TarInfo("a/../../escape")
            ti.size = 4
            t.addfile(ti, io.BytesIO(b"evil"))
        elif kind == "non-utf8-name":
            # A refused name that is not UTF-8: the message must still
            # reach the client (JSON needs UTF-8).
            ti = tarfile.TarInfo("../\xff\xfeevil")
            ti.size = 4
            t.addfile(ti, io.BytesIO(b"evil"))
        elif kind == "hardlink-out":
            ti = tarfile.TarInfo("hl")
            ti.type = tarfile.LNKTYPE
            ti.linkname = "../../etc/passwd"
            t.addfile(ti)
    return buf.getvalue()


CASES = {
    # kind: words the message must contain
    "symlink-then-through": ["out/berth-ctx-evil", "symlink"],
    "dotdot": ["a/../../escape", "leaves the context"],
    "hardlink-out": ["hl", "leaves the context"],
    "non-utf8-name": ["evil", "leaves the context"],
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_refused_context_says_what_and_why(engine, unique, kind):
    df = f"FROM {engine.image}\nCOPY . /c/\n".encode()
    r = engine.cli("build", "-t", unique + "-ctx", "-",
                   input=context_tar(kind, df), check=False, timeout=120)
    err = (r.stdout + r.stderr).decode(errors="replace")
    assert r.returncode != 0, (kind, err)
    assert "registry worker" not in err, (kind, err)
    assert "worker was killed" not in err, (kind, err)
    for w in CASES[kind]:
        assert w in err, (kind, w, err)
    # The host's path of the work directory is not the client's business.
    assert engine.data_root not in err, (kind, err)
    # The daemon is fine afterwards.
    assert engine.docker("version").returncode == 0


def test_refused_context_is_a_client_error(engine):
    """Through the API: 400 (the client's error) with the reason, not the
    404 of a registry's "access denied" nor a 500."""
    import http.client
    import json
    import socket

    class Conn(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(engine.sock)

    df = f"FROM {engine.image}\nCOPY . /c/\n".encode()
    for kind in ("symlink-then-through", "dotdot"):
        c = Conn("localhost", timeout=60)
        c.request("POST", "/v1.43/build", body=context_tar(kind, df),
                  headers={"Content-Type": "application/x-tar"})
        r = c.getresponse()
        body = r.read()
        c.close()
        assert r.status == 400, (kind, r.status, body)
        assert "build context: entry" in json.loads(body)["message"], body
