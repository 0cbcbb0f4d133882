"""The attacker's checklist shares the integration suite's fixtures: a
private berthd (`engine`, `unique`, `api_json`, ...) and berth-runtime
bundles (`rt`).  `from conftest import *` would find this very module
(pytest imports both files as "conftest"), so they are loaded by path
under names of their own and re-exported."""
import importlib.util
import os
import sys

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
