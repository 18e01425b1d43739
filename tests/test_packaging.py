"""What the installed package promises: numpy-only import, the header and
.pxd shipped, and the .pxd in step with the header."""
import os
import re
import subprocess
import sys

import cem


def test_import_cem_pulls_in_numpy_only(tmp_path):
    code = ("import sys, cem; heavy = [m for m in ('sklearn', 'scipy', 'matplotlib', 'pandas', 'dask') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "[]"


def _header_functions():
    with open(os.path.join(cem.get_include(), "cem.h")) as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.findall(r"^\w[\w\s\*]*?\b(cem_\w+)\s*\(", text, flags=re.M)


def _pxd_functions():
    with open(os.path.join(os.path.dirname(cem.__file__), "core.pxd")) as f:
        text = f.read()
    return re.findall(r"^\s+\w[\w\s\*]*?\b(cem_\w+)\s*\(", text, flags=re.M)


def test_pxd_mirrors_header_in_order():
    header = _header_functions()
    assert len(header) >= 12
    assert _pxd_functions() == header
