"""GMM.condition: the conditional mixture p(x_r | x_g) against a brute-force
NumPy/SciPy computation from the textbook formulas, closed forms, and the
identity log p(x_r | x_g) = log p(x) - log p(x_g)."""
import os
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

import cem
from cem._conditional import ConditionalMixture
from cem._validation import ConvergenceWarning, NotFittedError

FEW = settings(max_examples=int(os.environ.get("CEM_HYPOTHESIS_EXAMPLES", 25)), deadline=None)
TYPES = ["full", "tied", "diag", "spherical", "tied_diag", "tied_spherical"]


def full_covariances(gmm):
    """The k (d, d) covariance matrices, expanded here independently of cem."""
    k, d = gmm.means_.shape
    c = np.asarray(gmm.covariances_, dtype=np.float64)
    return {"full": lambda: c,
            "tied": lambda: np.array([c] * k),
            "diag": lambda: np.array([np.diag(v) for v in c]),
            "spherical": lambda: np.array([v * np.eye(d) for v in c]),
            "tied_diag": lambda: np.array([np.diag(c)] * k),
            "tied_spherical": lambda: np.array([c[0] * np.eye(d)] * k),
            }[gmm.covariance_type]()


def brute_force(gmm, x_g, given):
    """(weights (k,), means (k, r), covariances (k, r, r)) of p(x_r | x_g)
    for one row, component by component with explicit inverses."""
    k, d = gmm.means_.shape
    rest = [j for j in range(d) if j not in given]
    S, mu = full_covariances(gmm), np.asarray(gmm.means_, dtype=np.float64)
    log_w, means, covs = [], [], []
    for c in range(k):
        S_gg, S_rg = S[c][np.ix_(given, given)], S[c][np.ix_(rest, given)]
        S_rr = S[c][np.ix_(rest, rest)]
        inv = np.linalg.inv(S_gg)
        log_w.append(np.log(gmm.weights_[c])
                     + multivariate_normal(mu[c, given], S_gg).logpdf(x_g))
        means.append(mu[c, rest] + S_rg @ inv @ (x_g - mu[c, given]))
        covs.append(S_rr - S_rg @ inv @ S_rg.T)
    log_w = np.array(log_w)
    return np.exp(log_w - logsumexp(log_w)), np.array(means), np.array(covs)


def log_marginal(gmm, X_g, given):
    """log p(x_g) of each row under the full model, brute force."""
    S, mu = full_covariances(gmm), np.asarray(gmm.means_, dtype=np.float64)
    terms = [np.log(gmm.weights_[c])
             + multivariate_normal(mu[c, given], S[c][np.ix_(given, given)]).logpdf(X_g)
             for c in range(len(gmm.weights_))]
    return logsumexp(np.array(terms).reshape(len(terms), -1), axis=0)


def random_model(cov, seed, d=None, k=None):
    rng = np.random.default_rng(seed)
    d = d or int(rng.integers(2, 7))
    k = k or int(rng.integers(1, 5))
    A = rng.normal(size=(d, d))
    X = np.vstack([rng.normal(size=(60, d)) @ A + 3 * rng.normal(size=d) for _ in range(k)])
    gmm = cem.GMM(k, covariance_type=cov, random_state=seed).fit(X)
    given = sorted(rng.choice(d, size=int(rng.integers(1, d)), replace=False).tolist())
    rng.shuffle(given)  # any order of the given columns
    return gmm, X, list(given), rng


def covariance_matrices_of(model):
    """The (k, r, r) matrices of a conditional GMM."""
    return full_covariances(model)


@pytest.mark.parametrize("cov", TYPES)
@pytest.mark.parametrize("seed", range(6))
def test_one_row_matches_brute_force(cov, seed):
    gmm, X, given, rng = random_model(cov, seed)
    x_g = X[rng.integers(len(X)), given] + rng.normal(size=len(given))
    model = gmm.condition(x_g, given)
    weights, means, covs = brute_force(gmm, x_g, given)
    assert isinstance(model, cem.GMM) and model.covariance_type == cov
    assert model.n_features_in_ == gmm.n_features_in_ - len(given)
    np.testing.assert_allclose(model.weights_, weights, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(model.means_, means, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(covariance_matrices_of(model), covs, rtol=1e-9, atol=1e-12)
    # precisions consistent with the covariances, as on a fitted model
    P = model.precisions_ if cov in ("full", "tied") else None
    if P is not None:
        C = model.covariances_
        np.testing.assert_allclose(P @ C, np.broadcast_to(np.eye(C.shape[-1]), np.shape(C)),
                                   atol=1e-9)
    else:
        np.testing.assert_allclose(model.precisions_ * model.covariances_, 1.0, rtol=1e-12)


@pytest.mark.parametrize("cov", TYPES)
@pytest.mark.parametrize("seed", range(4))
def test_score_samples_is_log_joint_minus_log_marginal(cov, seed):
    """The returned GMM's score_samples is log p(x_r | x_g) = log p(x) -
    log p(x_g), with log p(x) from the full model's own score_samples."""
    gmm, X, given, rng = random_model(cov, seed)
    d = X.shape[1]
    rest = [j for j in range(d) if j not in given]
    for i in rng.integers(len(X), size=3):
        x_g = X[i, given]
        X_r = X[rng.integers(len(X), size=5)][:, rest]   # several x_r for this x_g
        full_rows = np.empty((5, d))
        full_rows[:, given], full_rows[:, rest] = x_g, X_r
        want = gmm.score_samples(full_rows) - log_marginal(gmm, x_g[None], given)
        np.testing.assert_allclose(gmm.condition(x_g, given).score_samples(X_r), want,
                                   rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("cov", TYPES)
def test_many_rows_equal_looping_one_row(cov):
    gmm, X, given, rng = random_model(cov, 11, d=5, k=3)
    rows = X[:7, given]
    many = gmm.condition(rows, given)
    assert isinstance(many, ConditionalMixture)
    k, r = 3, 5 - len(given)
    assert many.weights.shape == (7, k) and many.means.shape == (7, k, r)
    assert many.covariances.shape == (k, r, r)
    np.testing.assert_array_equal(many.columns, [j for j in range(5) if j not in given])
    for i, row in enumerate(rows):
        one = gmm.condition(row, given)
        np.testing.assert_allclose(many.weights[i], one.weights_, rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(many.means[i], one.means_, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(many.covariances, covariance_matrices_of(one), rtol=1e-12)
        np.testing.assert_allclose(many.mean()[i], one.weights_ @ one.means_, rtol=1e-12,
                                   atol=1e-14)
    assert gmm.condition(np.empty((0, len(given))), given).weights.shape == (0, k)


def test_two_dimensional_closed_form():
    """Two bivariate components set by hand: y | x is, per component,
    N(m_y + rho s_y / s_x (x - m_x), s_y^2 (1 - rho^2)), weighted by
    w_c N(x | m_x, s_x^2)."""
    w = np.array([0.3, 0.7])
    m = np.array([[0.0, 1.0], [3.0, -2.0]])
    s = np.array([[1.0, 2.0], [0.5, 1.5]])            # (s_x, s_y) per component
    rho = np.array([0.6, -0.8])
    covs = np.array([[[sx * sx, r * sx * sy], [r * sx * sy, sy * sy]]
                     for (sx, sy), r in zip(s, rho)])
    gmm = cem.GMM(2, weights_init=w, means_init=m, precisions_init=np.linalg.inv(covs))
    gmm.initialize(np.zeros((4, 2)))
    x = 1.2
    model = gmm.condition([x], [0])
    dens = w * np.exp(-0.5 * ((x - m[:, 0]) / s[:, 0]) ** 2) / (np.sqrt(2 * np.pi) * s[:, 0])
    np.testing.assert_allclose(model.weights_, dens / dens.sum(), rtol=1e-12)
    np.testing.assert_allclose(model.means_[:, 0],
                               m[:, 1] + rho * s[:, 1] / s[:, 0] * (x - m[:, 0]), rtol=1e-12)
    np.testing.assert_allclose(model.covariances_[:, 0, 0], s[:, 1] ** 2 * (1 - rho ** 2),
                               rtol=1e-12)
    # and given y instead, x | y: the same formulas with the roles swapped
    y = -0.4
    back = gmm.condition([y], [1])
    np.testing.assert_allclose(back.means_[:, 0],
                               m[:, 0] + rho * s[:, 0] / s[:, 1] * (y - m[:, 1]), rtol=1e-12)


def test_single_gaussian_conditional_mean_is_least_squares():
    """One full Gaussian fitted by maximum likelihood (reg_covar=0): E[y | x]
    is the ordinary least-squares regression of y on x over the training data."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 3)) @ rng.normal(size=(3, 3))
    y = X @ [1.5, -2.0, 0.5] + 0.3 * rng.normal(size=400)
    data = np.column_stack([X, y])
    gmm = cem.GMM(1, reg_covar=0.0).fit(data)
    pred = gmm.condition(X, [0, 1, 2]).mean()[:, 0]
    design = np.column_stack([X, np.ones(400)])
    ols = design @ np.linalg.lstsq(design, y, rcond=None)[0]
    np.testing.assert_allclose(pred, ols, rtol=1e-8, atol=1e-8)


def test_far_row_weights_stay_finite():
    """x_g hundreds of standard deviations from every component: the
    densities underflow, the log-space weights do not."""
    gmm, X, given, _ = random_model("full", 5, d=3, k=3)
    model = gmm.condition(np.full(len(given), 1e3), given)
    assert np.isfinite(model.weights_).all() and np.isclose(model.weights_.sum(), 1.0)
    assert np.isfinite(model.means_).all()


def test_float32_model_gives_float32_conditional():
    rng = np.random.default_rng(0)
    gmm = cem.GMM(2, random_state=0).fit(rng.normal(size=(100, 3)).astype(np.float32))
    model = gmm.condition([0.5], [1])
    assert model.means_.dtype == np.float32 and model.covariances_.dtype == np.float32
    assert model.score_samples(np.zeros((2, 2), np.float32)).dtype == np.float32


def test_feature_names():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(80, 3)), columns=["age", "height", "weight"])
    gmm = cem.GMM(2, random_state=0).fit(frame)
    by_name = gmm.condition([30.0, 70.0], ["age", "weight"])
    by_index = gmm.condition([30.0, 70.0], [0, 2])
    np.testing.assert_array_equal(by_name.feature_names_in_, ["height"])
    np.testing.assert_array_equal(by_name.means_, by_index.means_)
    many = gmm.condition([[30.0, 70.0]], ["age", "weight"])
    np.testing.assert_array_equal(many.feature_names, ["height"])
    by_name.score_samples(pd.DataFrame({"height": [1.0]}))  # names match: no warning
    with pytest.raises(ValueError, match="unknown column names"):
        gmm.condition([1.0], ["shoe"])


def test_conditional_model_can_be_refitted():
    """The returned GMM carries the parameters, not the full model's *_init."""
    rng = np.random.default_rng(0)
    gmm = cem.GMM(2, means_init=np.zeros((2, 3)) + [[0], [1]]).fit(rng.normal(size=(50, 3)))
    model = gmm.condition([0.0], [0])
    model.fit(rng.normal(size=(50, 2)))
    assert model.means_.shape == (2, 2)


@pytest.mark.parametrize("X_given, columns, match", [
    ([1.0], [3], "out of range"),
    ([1.0], [-1], "out of range"),
    ([1.0, 2.0], [0, 0], "duplicates"),
    ([1.0, 2.0, 3.0], [0, 1, 2], "nothing remains"),
    ([1.0], [], "empty"),
    ([1.0], 0, "sequence"),
    ([1.0], [True], "integer indices"),
    ([1.0], [0.5], "integer indices"),
    ([1.0], ["a"], "without feature names"),
    ([1.0, 2.0], [0], r"shape \(1,\)"),
    ([[1.0, 2.0]], [0], r"\(n, 1\)"),
    ([[[1.0]]], [0], "shape"),
    ([np.nan], [0], "NaN"),
    ([np.inf], [0], "NaN or infinity"),
    (["x"], [0], "numbers"),
])
def test_errors(X_given, columns, match):
    gmm = cem.GMM(2, random_state=0).fit(np.random.default_rng(0).normal(size=(40, 3)))
    before = {k: np.copy(v) for k, v in vars(gmm).items() if k.endswith("_")
              and isinstance(v, np.ndarray)}
    with pytest.raises(ValueError, match=match):
        gmm.condition(X_given, columns)
    for k, v in before.items():
        np.testing.assert_array_equal(getattr(gmm, k), v)


def test_not_fitted():
    with pytest.raises(NotFittedError, match="not fitted"):
        cem.GMM(2).condition([1.0], [0])


def test_readme_regression_example():
    """The README's example: E[y | x] from an 8-component fit of (x, y)
    tracks a nonlinear y far better than y's own spread."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 3, (2000, 2))
    y = np.sin(x[:, 0]) + 0.5 * x[:, 1] + 0.1 * rng.normal(size=2000)
    gmm = cem.GMM(8, random_state=0).fit(np.column_stack([x, y]))
    one = gmm.condition([1.0, 0.5], [0, 1])
    assert abs(one.sample(1000)[0].mean() - 1.12) < 0.01
    x_new = rng.uniform(-3, 3, (500, 2))
    y_hat = gmm.condition(x_new, [0, 1]).mean()[:, 0]
    truth = np.sin(x_new[:, 0]) + 0.5 * x_new[:, 1]
    assert np.sqrt(np.mean((y_hat - truth) ** 2)) < 0.035
    assert np.std(truth) > 1.1


@FEW
@given(cov=st.sampled_from(TYPES), seed=st.integers(0, 2 ** 31 - 1),
       d=st.integers(2, 8), k=st.integers(1, 4), scale=st.sampled_from([1e-3, 1.0, 1e3]))
def test_property_matches_brute_force(cov, seed, d, k, scale):
    """Random models (data scaled by 1e-3..1e3), random given subsets in
    random order, rows near and far from the data."""
    rng = np.random.default_rng(seed)
    X = scale * np.vstack([rng.normal(size=(40, d)) @ rng.normal(size=(d, d))
                           + 3 * rng.normal(size=d) for _ in range(k)])
    with warnings.catch_warnings():  # any model will do: 20 iterations need not converge
        warnings.simplefilter("ignore", ConvergenceWarning)
        gmm = cem.GMM(k, covariance_type=cov, random_state=seed,
                      reg_covar=1e-6 * scale ** 2, max_iter=20).fit(X)
    given_cols = rng.permutation(d)[:int(rng.integers(1, d))].tolist()
    rows = (X[rng.integers(len(X), size=3)][:, given_cols]
            + scale * rng.normal(size=(3, len(given_cols))))
    many = gmm.condition(rows, given_cols)
    for i, row in enumerate(rows):
        weights, means, covs = brute_force(gmm, row, given_cols)
        np.testing.assert_allclose(many.weights[i], weights, rtol=1e-7, atol=1e-12)
        np.testing.assert_allclose(many.means[i], means, rtol=1e-7, atol=1e-9 * scale)
        np.testing.assert_allclose(many.covariances, covs, rtol=1e-7, atol=1e-9 * scale ** 2)


def test_component_with_underflowing_weight():
    """A component whose conditional weight underflows to 0 leaves a GMM that
    still scores, predicts and samples."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(100, 2)), rng.normal(size=(100, 2)) + 50])
    gmm = cem.GMM(2, random_state=0).fit(X)
    model = gmm.condition([0.0], [0])
    assert sorted(model.weights_.tolist()) == [0.0, 1.0]
    near = int(np.argmax(model.weights_))
    scores = model.score_samples(np.array([[0.0], [50.0]]))
    assert np.isfinite(scores).all() and scores[0] > scores[1]
    np.testing.assert_array_equal(model.predict(np.array([[0.0], [50.0]])), [near, near])
    assert (model.sample(5)[1] == near).all()
