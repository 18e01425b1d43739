"""The scikit-learn estimator protocol, without importing scikit-learn.

``Estimator`` gives a class whose constructor only stores its keyword
arguments what scikit-learn's ``BaseEstimator`` gives: ``get_params``,
``set_params``, a repr listing the parameters that differ from their
defaults, and ``__sklearn_tags__``, so ``sklearn.base.clone``, grid search
and pipelines accept it. cem.GMM uses it; a model-selection estimator will
share it.
"""
import inspect

import numpy as np


class Estimator:
    """Base class of cem's estimators.

    Subclasses store every ``__init__`` argument unchanged under its own
    name (scikit-learn's convention, which ``clone`` relies on) and set
    ``_sklearn_estimator_type`` to their scikit-learn estimator type
    ("density_estimator", "classifier", ...; None for none).
    """

    _sklearn_estimator_type = None

    @classmethod
    def _get_param_names(cls):
        """The constructor's parameter names, in signature order."""
        return [p.name for p in inspect.signature(cls.__init__).parameters.values()
                if p.name != "self" and p.kind != p.VAR_KEYWORD]

    def get_params(self, deep=True):
        """The constructor parameters as a dict; with deep, also those of
        any parameter that is itself an estimator, as "name__param" (how
        scikit-learn's grid search reaches a nested estimator)."""
        params = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                params.update((f"{name}__{key}", inner)
                              for key, inner in value.get_params(deep=True).items())
            params[name] = value
        return params

    def set_params(self, **params):
        """Set constructor parameters by name ("name__param" for a nested
        estimator's); returns self. An unknown name raises ValueError and
        sets none of them."""
        valid = self.get_params(deep=True)
        for name in params:  # all checked first: a call that raises changes nothing
            if name not in valid:
                raise ValueError(f"Invalid parameter {name!r} for estimator {self}. "
                                 f"Valid parameters are: {sorted(valid)!r}.")
        nested = {}
        for name, value in params.items():
            outer, _, inner = name.partition("__")
            if inner:
                nested.setdefault(outer, {})[inner] = value
            else:
                setattr(self, name, value)
        for outer, inner_params in nested.items():
            getattr(self, outer).set_params(**inner_params)
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
        from sklearn.utils import InputTags, Tags, TargetTags
        return Tags(estimator_type=self._sklearn_estimator_type,
                    target_tags=TargetTags(required=False), input_tags=InputTags())
