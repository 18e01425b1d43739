"""The scikit-learn estimator protocol without importing scikit-learn.

``Estimator`` gives its subclasses what scikit-learn's ``BaseEstimator``
gives: ``get_params``, ``set_params`` (hence ``sklearn.base.clone`` and
pipelines), a ``repr`` showing the non-default parameters, and
``__sklearn_tags__``.
"""
import inspect

import numpy as np


class Estimator:
    """Base class of cem's estimators: the scikit-learn parameter protocol.

    Subclasses store every ``__init__`` parameter unchanged under its own
    name (validation happens at fit, as in scikit-learn) and set
    ``_estimator_type`` to scikit-learn's estimator type.
    """

    _estimator_type = "density_estimator"

    @classmethod
    def _get_param_names(cls):
        return [p.name for p in inspect.signature(cls.__init__).parameters.values()
                if p.name != "self" and p.kind != p.VAR_KEYWORD]

    def get_params(self, deep=True):
        """The constructor parameters as a dict (``deep`` is accepted for
        scikit-learn compatibility; cem's estimators have no nested
        estimators)."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        """Set constructor parameters by name; returns self. Unknown names
        raise ValueError."""
        valid = self._get_param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"Invalid parameter {name!r} for estimator {self}. "
                                 f"Valid parameters are: {sorted(valid)!r}.")
            setattr(self, name, value)
        return self

    def __repr__(self):
        defaults = {p.name: p.default
                    for p in inspect.signature(type(self).__init__).parameters.values()}
        changed = []
        for name in self._get_param_names():
            value = getattr(self, name)
            default = defaults[name]
            same = value is default or (not isinstance(value, np.ndarray) and
                                        not isinstance(default, np.ndarray) and
                                        value == default)
            if not same:
                changed.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_tags__(self):
        # Only reached when scikit-learn itself asks (e.g. in its utilities).
        from sklearn.utils import Tags, TargetTags, InputTags
        return Tags(estimator_type=self._estimator_type, target_tags=TargetTags(required=False),
                    input_tags=InputTags())
