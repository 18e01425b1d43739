"""Model selection: GMM.icl, cem.GMMSelection over (n_components x
covariance_type), its table, picture and command line."""
import shutil
import subprocess

import numpy as np
import pytest

from cem import GMM
from cem._reference import precision_cholesky
from cem._validation import COVARIANCE_TYPES


def separated_blobs(rng, n_per=200, d=2, k=3, sd=1.0, spacing=20.0):
    """k spherical blobs with equal spread on a line, spacing/sd apart."""
    centers = spacing * np.arange(k)[:, None] * np.ones(d)
    X = np.concatenate([c + sd * rng.normal(size=(n_per, d)) for c in centers])
    return X[rng.permutation(len(X))]


# --------------------------------------------------------------------------
# icl

@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_icl_is_bic_plus_the_hard_assignment_entropy(covariance_type):
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0, 1, (300, 2)), rng.normal(2, 1, (300, 2))]
    gmm = GMM(2, covariance_type=covariance_type, random_state=0).fit(X)
    resp = gmm.predict_proba(X)
    expected = gmm.bic(X) - 2 * np.log(resp.max(axis=1)).sum()
    assert gmm.icl(X) == pytest.approx(expected, rel=1e-12)
    assert gmm.icl(X) > gmm.bic(X) + 1.0  # overlapping blobs: a real penalty


def test_icl_equals_bic_when_every_row_is_certain():
    X = separated_blobs(np.random.default_rng(1), spacing=1000.0)
    gmm = GMM(3, covariance_type="spherical", random_state=0).fit(X)
    assert gmm.predict_proba(X).max(axis=1).min() == 1.0
    assert gmm.icl(X) == gmm.bic(X)


def test_icl_with_integer_weights_equals_icl_of_repeated_rows():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(150, 2)) + np.repeat([[0, 0], [2, 2], [0, 3]], 50, axis=0)
    w = rng.integers(0, 4, size=150)
    gmm = GMM(3, random_state=0).fit(X)
    assert gmm.icl(X, sample_weight=w) == pytest.approx(gmm.icl(np.repeat(X, w, axis=0)),
                                                        rel=1e-12)


def test_icl_spans_several_chunks(monkeypatch):
    import cem._gmm
    rng = np.random.default_rng(3)
    X = np.r_[rng.normal(0, 1, (250, 2)), rng.normal(2, 1, (250, 2))]
    w = rng.uniform(0, 2, size=500)
    gmm = GMM(2, random_state=0).fit(X)
    whole = gmm.icl(X, w)
    monkeypatch.setattr(cem._gmm, "CHUNK_ROWS", 64)
    assert gmm.icl(X, w) == pytest.approx(whole, rel=1e-12)


def test_icl_before_fit_and_on_bad_input_raises():
    from cem import NotFittedError
    with pytest.raises(NotFittedError):
        GMM(2).icl(np.zeros((5, 2)))
    gmm = GMM(2, random_state=0).fit(np.random.default_rng(4).normal(size=(50, 2)))
    with pytest.raises(ValueError, match="features"):
        gmm.icl(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="Negative"):
        gmm.icl(np.zeros((5, 2)), sample_weight=-np.ones(5))


MCLUST_MODELS = {"full": "VVV", "tied": "EEE", "diag": "VVI", "spherical": "VII"}
MCLUST_SCRIPT = """
library(mclust)
X <- as.matrix(read.csv("X.csv", header = FALSE))
for (m in c("VVV", "EEE", "VVI", "VII")) {
  fit <- Mclust(X, G = 3, modelNames = m, verbose = FALSE)
  # mclust keeps z and loglik of the E-step before its last M-step; take
  # them at the returned parameters, so both sides score the same model
  e <- estep(data = X, modelName = m, parameters = fit$parameters)
  fit$z <- e$z
  fit$bic <- bic(m, e$loglik, nrow(X), ncol(X), 3)
  p <- fit$parameters
  # column-major (d, G) and symmetric (d, d, G) read as row-major (G, d), (G, d, d)
  cat(m, format(c(fit$bic, icl(fit), p$pro, p$mean, p$variance$sigma), digits = 17), "\\n")
}
"""


def _mclust_available():
    if shutil.which("Rscript") is None:
        return False
    return subprocess.run(["Rscript", "-e", "library(mclust)"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _mclust_available(), reason="needs R with mclust (optional reference)")
def test_icl_and_bic_agree_with_mclust(tmp_path):
    rng = np.random.default_rng(5)
    X = np.r_[rng.normal(0, 1, (200, 2)), rng.normal(2.5, 1, (200, 2)),
              np.c_[rng.normal(-2, 0.7, 200), rng.normal(3, 1.3, 200)]]
    np.savetxt(tmp_path / "X.csv", X, delimiter=",", fmt="%.17g")
    (tmp_path / "icl.R").write_text(MCLUST_SCRIPT)
    out = subprocess.run(["Rscript", "icl.R"], cwd=tmp_path, capture_output=True, text=True,
                         check=True).stdout
    rows = {line.split()[0]: np.array(line.split()[1:], dtype=float)
            for line in out.splitlines() if line[:3] in MCLUST_MODELS.values()}
    k, d = 3, 2
    for covariance_type, model in MCLUST_MODELS.items():
        values = rows[model]
        bic, icl, pro = values[0], values[1], values[2:2 + k]
        means = values[2 + k:2 + k + k * d].reshape(k, d)
        sigma = values[2 + k + k * d:].reshape(k, d, d)
        cov = {"full": sigma, "tied": sigma[0], "diag": np.diagonal(sigma, axis1=1, axis2=2),
               "spherical": sigma[:, 0, 0]}[covariance_type]
        gmm = GMM(k, covariance_type=covariance_type)
        gmm._set_parameters((pro, means, cov, precision_cholesky(covariance_type, cov)),
                            np.float64)
        gmm.n_features_in_ = d
        # mclust's criteria are higher-is-better: the negatives of ours
        assert gmm.bic(X) == pytest.approx(-bic, rel=1e-12)
        assert gmm.icl(X) == pytest.approx(-icl, rel=1e-12)
