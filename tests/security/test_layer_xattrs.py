"""Attacker's checklist (SECURITY.md 4): layer xattrs that are overlayfs'
own metadata.  A layer becomes an overlay lower dir; a pax
SCHILY.xattr.trusted.overlay.opaque on a directory would hide every layer
below it (here: the base image's /etc), trusted.overlay.redirect would
make a directory show another one's contents, .metacopy/.origin point at
other inodes.  Unpacking drops trusted.* (and security.* but
security.capability); ordinary xattrs survive."""
import hashlib
import io
import json
import os
import tarfile

from conftest import IMAGE


def pax_layer():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        def add(name, kind, xattrs, data=b""):
            ti = tarfile.TarInfo(name)
            ti.type = kind
            ti.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
            ti.pax_headers = {"SCHILY.xattr." + k: v
                              for k, v in xattrs.items()}
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data) if data else None)
        # Would hide the base image's /etc (passwd, group) from overlay.
        add("etc", tarfile.DIRTYPE, {"trusted.overlay.opaque": "y"})
        add("etc/added", tarfile.REGTYPE, {}, b"added\n")
        add("redir", tarfile.DIRTYPE, {"trusted.overlay.redirect": "/etc",
                                       "trusted.overlay.origin": "x"})
        add("file", tarfile.REGTYPE, {
            "trusted.overlay.metacopy": "",
            "trusted.evil": "1",
            "security.selinux": "system_u:object_r:shadow_t:s0",
            "user.keep": "kept",
            # cap_net_raw, permitted+effective (VFS_CAP_REVISION_2).
            "security.capability":
                "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00"
                "\x00\x00\x00\x00\x00\x00\x00\x00",
        }, b"data\n")
    return buf.getvalue()


def user_xattrs_work(d):
    """Whether the filesystem of `d` takes user.* xattrs at all."""
    probe = os.path.join(d, ".xattr-probe")
    with open(probe, "w"):
        pass
    try:
        os.setxattr(probe, "user.probe", b"1")
        return True
    except OSError:
        return False
    finally:
        os.unlink(probe)


def test_trusted_xattrs_dropped_from_layers(engine, tmp_path, unique):
    # The base image's save archive, with one more (hostile) layer.
    base = engine.docker("save", IMAGE).stdout
    with tarfile.open(fileobj=io.BytesIO(base)) as t:
        man = json.load(t.extractfile("manifest.json"))[0]
        cfg = json.load(t.extractfile(man["Config"]))
        base_layers = [(n, t.extractfile(n).read()) for n in man["Layers"]]
    evil = pax_layer()
    evil_diff = "sha256:" + hashlib.sha256(evil).hexdigest()
    cfg["rootfs"]["diff_ids"].append(evil_diff)
    cfg.setdefault("history", []).append({"created_by": "evil"})
    ctext = json.dumps(cfg).encode()
    cid = hashlib.sha256(ctext).hexdigest()
    tag = unique + "-xattr:1"
    members = [(f"{cid}.json", ctext)] + base_layers + [("evil/layer.tar",
                                                         evil)]
    members.append(("manifest.json", json.dumps([{
        "Config": f"{cid}.json", "RepoTags": [tag],
        "Layers": [n for n, _ in base_layers] + ["evil/layer.tar"]}]).encode()))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in members:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    engine.docker("load", input=buf.getvalue())

    # The unpacked layer directory, found by its diff_id.
    layers = os.path.join(engine.data_root, "image", "layers")
    diff = None
    for d in os.listdir(layers):
        with open(os.path.join(layers, d, "layer.json")) as f:
            if json.load(f)["diff_id"] == evil_diff:
                diff = os.path.join(layers, d, "diff")
    assert diff, "layer not found"

    def names(p):
        return set(os.listxattr(p, follow_symlinks=False))

    assert not {n for n in names(os.path.join(diff, "etc"))
                if n.startswith("trusted.")}
    assert not {n for n in names(os.path.join(diff, "redir"))
                if n.startswith("trusted.")}
    fx = names(os.path.join(diff, "file"))
    assert not {n for n in fx if n.startswith("trusted.")}, fx
    assert "security.selinux" not in fx, fx
    if user_xattrs_work(engine.data_root):  # tmpfs: only since Linux 6.6
        assert os.getxattr(os.path.join(diff, "file"),
                           "user.keep") == b"kept"
    assert "security.capability" in fx, fx

    # And what a container sees: /etc is the base's plus the addition,
    # not an opaque directory hiding the layers below.
    r = engine.docker("run", "--rm", "--network", "none", tag, "sh", "-c",
                      "cat /etc/added; grep -c root /etc/passwd; ls /redir")
    assert r.stdout.decode().split() == ["added", "1"], r.stdout
    engine.docker("rmi", tag)
