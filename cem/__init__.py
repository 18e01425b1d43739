"""cem: Gaussian mixture models fitted by EM, with a C core.

``cem.GMM`` is a drop-in for ``sklearn.mixture.GaussianMixture``. For
compiled code that embeds the core, ``get_include()`` gives the directory
of ``cem.h`` and of ``core.pxd``'s package.
"""
import os

# OpenMP threads that finish a pass early spin (GNU libgomp: ~300,000 turns,
# about 0.3 ms, after every parallel region) waiting for the next one. On a
# busy machine the spinning takes the cores the other threads are waiting
# for: the 10,000-row classic example took a median 92 ms with two threads
# against 12 ms with one while both cores were loaded. Passive waiting
# (sleep at once) costs a few microseconds per pass instead, so it is cem's
# default unless the user chose a policy. libgomp reads its environment once,
# when it is loaded (by the import of _core below, checked with
# OMP_DISPLAY_ENV), so the variable is set for that moment only and then
# removed again: child processes and other OpenMP runtimes keep their own
# defaults. (LLVM's libomp reads it later, at its first parallel region, so
# builds with it keep libomp's default.)
_WAIT_SET = not any(name in os.environ for name in
                    ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME"))
if _WAIT_SET:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
try:
    from cem import _core  # noqa: F401  (the compiled extension)
except ImportError as exc:  # pragma: no cover - depends on how cem was reached
    raise ImportError(
        f"cem's compiled extension cem._core could not be imported from "
        f"{os.path.dirname(os.path.abspath(__file__))} ({exc}). If that is a source "
        "checkout, install cem with 'pip install .' and run from another directory "
        "(or build in place with 'python setup.py build_ext --inplace').") from exc
finally:
    if _WAIT_SET:
        os.environ.pop("OMP_WAIT_POLICY", None)

from cem._batch import BatchResult, fit_many
from cem._exceptions import ConvergenceWarning, InvalidParameterError, NotFittedError
from cem._gmm import GMM
from cem._prior import Prior
from cem._selection import GMMSelection
from cem._selection_report import format_results, plot_criterion
from cem._stats import SufficientStatistics
from cem._version import __version__

__all__ = ["GMM", "Prior", "GMMSelection", "fit_many", "BatchResult", "format_results",
           "plot_criterion", "SufficientStatistics", "ConvergenceWarning", "InvalidParameterError",
           "NotFittedError", "get_include", "get_library_dirs", "get_libraries"]

_HERE = os.path.dirname(os.path.abspath(__file__))


def get_include():
    """Directory holding ``cem.h``: pass it to the C compiler (``-I``) and,
    for Cython, ``from cem.core cimport ...`` finds ``core.pxd`` in the
    installed package."""
    return os.path.join(_HERE, "include")


def get_library_dirs():
    """Directories holding the static library of the C core (``libcem.a``,
    or ``cem.lib`` with MSVC): pass them to the linker (``-L``)."""
    return [os.path.join(_HERE, "lib")]


def get_libraries():
    """Names of the libraries to link for the C core (``-lcem``): plain C99,
    no OpenMP, no BLAS; link the math library (``-lm``) on Unix too."""
    return ["cem"]
