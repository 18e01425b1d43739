"""cem's exception and warning classes, caught by code that names scikit-learn's.

cem.GMM is a drop-in for sklearn.mixture.GaussianMixture, so code written for
scikit-learn must catch and filter what cem raises and warns:
``except sklearn.exceptions.NotFittedError``,
``warnings.filterwarnings("ignore", category=sklearn.exceptions.ConvergenceWarning)``
and ``except sklearn.utils._param_validation.InvalidParameterError``. But
``import cem`` must not import scikit-learn (it costs over a second; cem costs
milliseconds), so cem's public classes cannot derive from scikit-learn's.

The way out: code that names a scikit-learn class has imported its module, so
at raise or warn time ``sys.modules`` tells whether that code can exist.
``raisable(cls)`` gives cem's class itself while scikit-learn's twin module is
not loaded, and once it is, a subclass of both cem's class and scikit-learn's
(created on first use and cached). Then

- ``except cem.NotFittedError`` (and the other two) always catches, whether or
  not scikit-learn is loaded, and whichever was imported first;
- ``except sklearn.exceptions.NotFittedError`` catches too, because the raised
  class derives from it whenever that name can have been written;
- ``import cem`` imports nothing of scikit-learn.

The one visible seam: ``type(exc) is cem.NotFittedError`` is false when
scikit-learn is loaded (``isinstance`` is the test to use). Instances pickle
(joblib sends exceptions between processes) as "cem's class", and unpickle as
the class ``raisable`` gives in the receiving process.

The bases of each class are those of scikit-learn's twin, so ``except
ValueError`` and the like behave the same with or without scikit-learn.
"""
import sys


class _HasScikitLearnTwin:
    """Pickles as the cem class, whatever twin the raising process used."""

    def __reduce__(self):
        base = next(c for c in type(self).__mro__ if c in _TWINS)
        return _rebuild, (base, self.args), (self.__dict__ or None)


class NotFittedError(_HasScikitLearnTwin, ValueError, AttributeError):
    """Raised when a method that needs a fitted model is called before fit
    (scikit-learn's NotFittedError has the same two bases)."""


class ConvergenceWarning(_HasScikitLearnTwin, UserWarning):
    """The best initialisation did not converge within max_iter iterations."""


class InvalidParameterError(_HasScikitLearnTwin, ValueError, TypeError):
    """A constructor parameter has the wrong type or value (checked at fit,
    as scikit-learn does); both a ValueError and a TypeError, as there."""


# cem class -> (module, name) of its scikit-learn twin
_TWINS = {
    NotFittedError: ("sklearn.exceptions", "NotFittedError"),
    ConvergenceWarning: ("sklearn.exceptions", "ConvergenceWarning"),
    InvalidParameterError: ("sklearn.utils._param_validation", "InvalidParameterError"),
}
_joint_classes = {}  # (cem class, scikit-learn class) -> class deriving from both


def raisable(cls):
    """The class to raise or warn with for the cem class cls: cls itself
    while scikit-learn's twin is not imported, else a cached subclass of
    both."""
    module_name, name = _TWINS[cls]
    twin = getattr(sys.modules.get(module_name), name, None)
    if twin is None:
        return cls
    key = (cls, twin)
    joint = _joint_classes.get(key)
    if joint is None:
        # setdefault is atomic: racing threads all get the class stored first
        joint = _joint_classes.setdefault(key, type(cls.__name__, (cls, twin), {
            "__module__": cls.__module__, "__qualname__": cls.__qualname__,
            "__doc__": cls.__doc__}))
    return joint


def _rebuild(cls, args):
    return raisable(cls)(*args)
