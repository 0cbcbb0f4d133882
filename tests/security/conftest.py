# Re-exports the integration fixtures (engine, unique, api_json, ...).
# `from conftest import *` would import this file itself (pytest names
# both "conftest"), so the integration one is loaded under its own name.
import importlib.util, os  # noqa: E401
_spec = importlib.util.spec_from_file_location(
    "integration_conftest",
    os.path.join(os.path.dirname(__file__), "..", "integration", "conftest.py"))
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
globals().update({k: v for k, v in vars(_mod).items() if not k.startswith("__")})
