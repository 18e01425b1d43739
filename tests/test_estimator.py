"""cem._estimator.Estimator: the scikit-learn protocol that GMM shares with
future estimators (a model-selection estimator)."""
import numpy as np
import pytest

from cem import GMM
from cem._estimator import Estimator


class _Selector(Estimator):
    """A stand-in for a future estimator of another type."""
    _sklearn_estimator_type = "classifier"

    def __init__(self, n_components=(1, 2), *, criterion="bic", estimator=None):
        self.n_components = n_components
        self.criterion = criterion
        self.estimator = estimator


def test_subclasses_choose_their_estimator_type():
    sklearn_utils = pytest.importorskip("sklearn.utils")
    from sklearn.base import is_classifier
    assert sklearn_utils.get_tags(GMM()).estimator_type == "density_estimator"
    assert sklearn_utils.get_tags(_Selector()).estimator_type == "classifier"
    assert is_classifier(_Selector()) and not is_classifier(GMM())


def test_protocol_of_a_subclass():
    from sklearn.base import clone
    est = _Selector((2, 3), criterion="aic", estimator=GMM(4))
    assert est.get_params(deep=False) == {"n_components": (2, 3), "criterion": "aic",
                                "estimator": est.estimator}
    assert repr(est) == ("_Selector(n_components=(2, 3), criterion='aic', "
                         "estimator=GMM(n_components=4))")
    copy = clone(est)
    assert copy is not est and copy.criterion == "aic" and copy.estimator.n_components == 4
    assert est.set_params(criterion="bic") is est and est.criterion == "bic"
    with pytest.raises(ValueError, match="Invalid parameter 'nope'"):
        est.set_params(criterion="aic", nope=1)
    assert est.criterion == "bic"


def test_repr_lists_only_parameters_that_differ_from_defaults():
    assert repr(GMM()) == "GMM()"
    assert repr(GMM(3, means_init=np.zeros((3, 2)))).startswith("GMM(n_components=3, means_init=")


def test_nested_estimator_parameters_for_grid_search():
    est = _Selector(estimator=GMM(2))
    params = est.get_params(deep=True)
    assert params["estimator__n_components"] == 2 and params["estimator"] is est.estimator
    assert "estimator__n_components" not in est.get_params(deep=False)
    est.set_params(estimator__covariance_type="diag", criterion="aic")
    assert est.estimator.covariance_type == "diag" and est.criterion == "aic"
    with pytest.raises(ValueError, match="estimator__nope"):
        est.set_params(estimator__n_components=5, estimator__nope=1)
    assert est.estimator.n_components == 2
    assert GMM().get_params(deep=True) == GMM().get_params(deep=False)
