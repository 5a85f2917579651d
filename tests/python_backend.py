"""export/triton_python_model.py loaded as a module outside Triton, for unit tests of the
runner's pure functions."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from export.launcher import prepare_backend_dir
from export.repository import PROJECT_ROOT


def load_python_model(name: str = "helpline_python_model") -> ModuleType:
    """The runner module, with Triton's own triton_python_backend_utils (the module the Python
    backend ships; it imports standalone) on the path."""
    utils = prepare_backend_dir(PROJECT_ROOT / ".cache") / "python"
    if str(utils) not in sys.path:
        sys.path.insert(0, str(utils))
    spec = importlib.util.spec_from_file_location(
        name, PROJECT_ROOT / "export" / "triton_python_model.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
