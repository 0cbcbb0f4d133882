"""The attacker's checklist shares the integration suite's fixtures: a
private berthd (`engine`, `unique`, `api_json`, ...) and berth-runtime
bundles (`rt`).  `from conftest import *` would find this very module
(pytest imports both files as "conftest"), so they are loaded by path
under names of their own and re-exported."""
import importlib.util
import os
import socket
import sys
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
_INTEGRATION = os.path.join(_HERE, "..", "integration")


def _load(name, file):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(_INTEGRATION, file))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


_it = _load("berth_it_conftest", "conftest.py")
_core = _load("berth_it_runtime_core", "test_runtime_core.py")

# Everything of the integration conftest (fixtures, Engine, IMAGE, ...),
# and of the runtime suite the `rt` fixture with what it needs.
globals().update({k: v for k, v in vars(_it).items()
                  if not k.startswith("__")})
Runtime = _core.Runtime
RUNTIME = _core.RUNTIME
PROBE = _core.PROBE
busybox_rootfs = _core.busybox_rootfs
rt = _core.rt
_berth_cgroup_parent = _core._berth_cgroup_parent


# ---- what several checks measure ----

def raw_connect(engine, rcvbuf=None):
    """A raw connection to the daemon's socket (a small receive buffer
    makes a client that does not read)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(engine.sock)
    return s


def ping_seconds(engine, timeout=10):
    """How long a fresh connection's GET /_ping takes to be answered; inf
    when it is not answered within `timeout`."""
    t0 = time.monotonic()
    try:
        s = raw_connect(engine)
    except OSError:
        return float("inf")
    s.settimeout(timeout)
    data = b""
    try:
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n"
                  b"Connection: close\r\n\r\n")
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        return float("inf")
    finally:
        s.close()
    assert data.startswith(b"HTTP/1.1 200"), data[:100]
    return time.monotonic() - t0


def rss_kib(pid, field="VmRSS"):
    """A process's resident memory in KiB (VmRSS, or RssAnon)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} for pid {pid}")
