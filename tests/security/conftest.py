# The integration tests' fixtures (engine, unique, ...), loaded under a
# name of their own: a plain "from conftest import *" finds this very
# module (pytest imports it as "conftest").
import importlib.util as _u, os as _os
_s = _u.spec_from_file_location("integration_conftest", _os.path.join(_os.path.dirname(__file__), "..", "integration", "conftest.py"))
_m = _u.module_from_spec(_s); _s.loader.exec_module(_m)
globals().update({k: v for k, v in vars(_m).items() if not k.startswith("_")})
