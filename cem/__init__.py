"""cem: Gaussian mixture models fitted by EM, with a C core.

``cem.GMM`` is a drop-in for ``sklearn.mixture.GaussianMixture``. For
compiled code that embeds the core, ``get_include()`` gives the directory
of ``cem.h`` and of ``core.pxd``'s package.
"""
import os

try:
    from cem import _core  # noqa: F401  (the compiled extension)
except ImportError as exc:  # pragma: no cover - depends on how cem was reached
    raise ImportError(
        f"cem's compiled extension cem._core could not be imported from "
        f"{os.path.dirname(os.path.abspath(__file__))} ({exc}). If that is a source "
        "checkout, install cem with 'pip install .' and run from another directory "
        "(or build in place with 'python setup.py build_ext --inplace').") from exc

from cem._batch import BatchResult, fit_many
from cem._gmm import GMM
from cem._stats import SufficientStatistics
from cem._validation import ConvergenceWarning, NotFittedError

__version__ = "0.1.0"
__all__ = ["GMM", "fit_many", "BatchResult", "SufficientStatistics", "ConvergenceWarning", "NotFittedError", "get_include",
           "get_library_dirs", "get_libraries"]

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
