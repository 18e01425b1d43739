"""What the installed package promises: numpy-only import, the header and
.pxd shipped, the .pxd in step with the header, one version, and a build
that refuses to drop OpenMP silently."""
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys

import pytest

import cem

CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_import_cem_pulls_in_numpy_only_in_subprocess(tmp_path):
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


def test_one_version():
    from cem._version import __version__
    assert cem.__version__ == __version__
    # the C core's version (cem.h) is the same number
    assert ".".join(map(str, cem._core.version())) == __version__
    try:
        installed = importlib.metadata.version("cem-gmm")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("cem-gmm is not installed (an in-place build)")
    if os.path.dirname(cem.__file__).startswith(CHECKOUT):
        pytest.skip("the imported cem is the checkout's in-place build, not the installed one")
    assert installed == cem.__version__


@pytest.mark.skipif(not os.path.isfile(os.path.join(CHECKOUT, "setup.py")),
                    reason="needs the source checkout")
@pytest.mark.skipif(os.name == "nt" or shutil.which("gcc") is None, reason="needs gcc and sh")
def test_build_without_openmp_fails_unless_asked_in_subprocess(tmp_path):
    """A compiler that cannot do OpenMP stops the build with a message naming
    CEM_OPENMP=0; the build fails before compiling anything."""
    cc = tmp_path / "cc-without-openmp"
    cc.write_text('#!/bin/sh\nfor a in "$@"; do [ "$a" = -fopenmp ] && exit 1; done\n'
                  'exec gcc "$@"\n')
    cc.chmod(0o755)
    env = dict(os.environ, CC=str(cc))
    env.pop("CEM_OPENMP", None)
    out = subprocess.run([sys.executable, "setup.py", "build_ext", "-b", str(tmp_path / "lib"),
                          "-t", str(tmp_path / "tmp")], cwd=CHECKOUT, env=env,
                         capture_output=True, text=True)
    assert out.returncode != 0
    assert "cannot build and link an OpenMP program" in out.stderr
    assert "CEM_OPENMP=0" in out.stderr
    assert not (tmp_path / "lib").exists()
