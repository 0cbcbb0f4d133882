"""Hole: setuid programs in volumes (CVE-2021-41091 class).

A container writes a setuid-root program into a named volume; a host user
who is not root must not be able to reach it through the volume's host
path.  Defence: berthd keeps <data-root>/volumes at 0700 (and each volume's
own directory too); containers reach their volumes through mounts, never
through that path.  The data root itself stays 0711, as docker's, so the
test opens the engine's private parent directory the same way.
"""
import json
import os
import stat
import subprocess

import pytest

NOBODY = 65534


@pytest.fixture
def traversable_engine_dir(engine):
    """Make the engine's private tmp dir as traversable as /var/lib is."""
    old = os.stat(engine.dir).st_mode & 0o7777
    os.chmod(engine.dir, 0o711)
    yield
    os.chmod(engine.dir, old)


def as_nobody(*cmd):
    return subprocess.run(list(cmd), user=NOBODY, group=NOBODY,
                          extra_groups=[], capture_output=True, timeout=30)


def test_setuid_program_in_volume_is_out_of_reach_for_host_users(
        engine, unique, traversable_engine_dir):
    vol = unique + "-vol"
    engine.docker("volume", "create", vol)
    try:
        engine.docker("run", "--rm", "-v", f"{vol}:/data", engine.image,
                      "sh", "-c", "cp /bin/busybox /data/rootsh && "
                      "chmod 4755 /data/rootsh")
        mp = json.loads(engine.docker("volume", "inspect", vol).stdout)[0][
            "Mountpoint"]
        prog = os.path.join(mp, "rootsh")
        st = os.stat(prog)
        assert st.st_mode & stat.S_ISUID and st.st_uid == 0  # the attack is set
        r = as_nobody("/usr/bin/python3", "-c",
                      "import os, sys; os.stat(sys.argv[1])", prog)
        assert r.returncode != 0 and b"PermissionError" in r.stderr, (
            "a host user reached a setuid-root program in a volume")
        with pytest.raises(PermissionError):
            as_nobody(prog, "true")
        # Users inside containers still use the volume as before.
        r = engine.docker("run", "--rm", "-u", "1000", "-v", f"{vol}:/data",
                          engine.image, "ls", "/data")
        assert b"rootsh" in r.stdout
    finally:
        engine.docker("volume", "rm", "-f", vol, check=False)
