"""cem: Gaussian mixture models fitted by EM, with a C core.

``cem.GMM`` is a drop-in for ``sklearn.mixture.GaussianMixture``. For
compiled code that embeds the core, ``get_include()`` gives the directory
of ``cem.h`` and of ``core.pxd``'s package.
"""
import os

from cem._gmm import GMM
from cem._validation import ConvergenceWarning, NotFittedError

__version__ = "0.1.0"
__all__ = ["GMM", "ConvergenceWarning", "NotFittedError", "get_include"]


def get_include():
    """Directory holding ``cem.h`` (pass it to the C compiler with -I)."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "include")
