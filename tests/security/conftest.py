# Re-export the integration fixtures.  `from conftest import *` would find
# this very module (pytest imports both files as "conftest"), so the
# integration conftest is loaded by path under a name of its own.
import importlib.util, os  # noqa: E401
_spec = importlib.util.spec_from_file_location(
    "integration_conftest",
    os.path.join(os.path.dirname(__file__), "..", "integration", "conftest.py"))
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
globals().update({k: v for k, v in vars(_mod).items() if not k.startswith("__")})
