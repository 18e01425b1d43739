"""cem.GMM behaviour beyond agreement with scikit-learn."""
import pickle
import warnings

import numpy as np
import pytest

import cem
from cem import GMM
from conftest import blobs

COVS = ["full", "tied", "diag", "spherical", "tied_diag", "tied_spherical"]


@pytest.mark.parametrize("cov", COVS)
@pytest.mark.parametrize("init", ["kmeans", "random"])
def test_lower_bound_never_decreases(rng, cov, init):
    X = blobs(rng, n=1000, d=3, k=4)
    gmm = GMM(4, covariance_type=cov, init_params=init, tol=0.0, max_iter=80,
              random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cem.ConvergenceWarning)
        gmm.fit(X)
    bounds = np.array(gmm.lower_bounds_)
    assert len(bounds) == 80
    assert (np.diff(bounds) >= -1e-12 * np.abs(bounds[1:])).all()


@pytest.mark.parametrize("cov", COVS)
def test_integer_weights_equal_duplicated_rows(rng, cov):
    X = blobs(rng, n=300, d=2, k=3)
    counts = rng.integers(1, 4, size=len(X))
    a = GMM(3, covariance_type=cov, random_state=0, tol=1e-8).fit(X, sample_weight=counts)
    b = GMM(3, covariance_type=cov, random_state=0, tol=1e-8).fit(np.repeat(X, counts, axis=0))
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(a.covariances_, b.covariances_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(a.weights_, b.weights_, rtol=1e-7)
    assert a.lower_bound_ == pytest.approx(b.lower_bound_, rel=1e-9)


@pytest.mark.parametrize("cov", COVS)
def test_zero_weight_equals_dropped_rows(rng, cov):
    X = blobs(rng, n=400, d=2, k=3)
    w = np.ones(len(X))
    w[::3] = 0.0
    a = GMM(3, covariance_type=cov, random_state=1, tol=1e-8).fit(X, sample_weight=w)
    b = GMM(3, covariance_type=cov, random_state=1, tol=1e-8).fit(X[w > 0])
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(a.covariances_, b.covariances_, rtol=1e-7, atol=1e-9)
    assert a.score(X, sample_weight=w) == pytest.approx(b.score(X[w > 0]), rel=1e-9)
    assert a.bic(X, sample_weight=w) == pytest.approx(b.bic(X[w > 0]), rel=1e-9)


@pytest.mark.filterwarnings("ignore::cem.ConvergenceWarning")
@pytest.mark.parametrize("cov", COVS)
@pytest.mark.parametrize("init", ["kmeans", "random"])
def test_bit_identical_across_thread_counts(rng, cov, init):
    X = blobs(rng, n=30000, d=4, k=3)
    fits = [GMM(3, covariance_type=cov, init_params=init, random_state=2, n_threads=t,
                max_iter=30, tol=0.0).fit(X) for t in (1, 2, 4)]
    for other in fits[1:]:
        for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
            np.testing.assert_array_equal(getattr(fits[0], name), getattr(other, name))
        assert fits[0].lower_bounds_ == other.lower_bounds_


@pytest.mark.parametrize("cov", COVS)
def test_large_offset_fits_like_centred_data(rng, cov):
    X = blobs(rng, n=2000, d=2, k=2, spread=6.0)
    centred = GMM(2, covariance_type=cov, random_state=0, tol=1e-9, max_iter=500).fit(X)
    shifted = GMM(2, covariance_type=cov, random_state=0, tol=1e-9, max_iter=500).fit(X + 1e8)
    np.testing.assert_allclose(shifted.means_ - 1e8, centred.means_, atol=1e-6)
    np.testing.assert_allclose(shifted.covariances_, centred.covariances_, rtol=1e-6)
    np.testing.assert_allclose(shifted.weights_, centred.weights_, rtol=1e-6)


@pytest.mark.parametrize("cov", COVS)
def test_fit_predict_labels_are_the_final_models_most_probable_components(rng, cov):
    # fit_predict is fit then predict, so comparing the two proves nothing:
    # check its labels against the NumPy reference under the final model.
    from cem import _reference
    X = blobs(rng, n=500, d=2, k=3)
    gmm = GMM(3, covariance_type=cov, random_state=0, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cem.ConvergenceWarning)
        labels = gmm.fit_predict(X)
    log_joint = np.log(gmm.weights_) + _reference.log_gaussian_density(
        cov, gmm.means_, gmm.precisions_cholesky_, X)
    top_two = np.sort(log_joint, axis=1)[:, -2:]
    clear = top_two[:, 1] - top_two[:, 0] > 1e-9  # rows not tied to rounding
    assert clear.mean() > 0.9
    np.testing.assert_array_equal(labels[clear], log_joint.argmax(axis=1)[clear])
    assert labels.dtype == np.int64 and labels.shape == (500,)


def test_convergence_warning_when_max_iter_too_small(rng):
    X = blobs(rng, n=500, d=2, k=3)
    with pytest.warns(cem.ConvergenceWarning, match="did not converge"):
        GMM(3, max_iter=1, tol=0.0, random_state=0).fit(X)


def test_pickle_round_trip(rng):
    X = blobs(rng, n=300, d=2, k=2)
    gmm = GMM(2, random_state=0).fit(X)
    again = pickle.loads(pickle.dumps(gmm))
    np.testing.assert_array_equal(again.predict_proba(X), gmm.predict_proba(X))
    assert again.get_params() == gmm.get_params()


def test_non_contiguous_and_fortran_input(rng):
    X = blobs(rng, n=600, d=3, k=2)
    ref = GMM(2, random_state=0).fit(X)
    for view in (np.asfortranarray(X), np.repeat(X, 2, axis=1)[:, ::2]):
        got = GMM(2, random_state=0).fit(view)
        np.testing.assert_array_equal(got.means_, ref.means_)


def test_int_and_bool_input_are_converted(rng):
    X = rng.integers(0, 10, size=(100, 2))
    gmm = GMM(2, random_state=0).fit(X)
    assert gmm.means_.dtype == np.float64
    np.testing.assert_array_equal(gmm.predict(X), gmm.predict(X.astype(float)))


def test_predict_proba_rows_sum_to_one(rng):
    X = blobs(rng, n=500, d=2, k=3)
    proba = GMM(3, random_state=0).fit(X).predict_proba(X)
    assert proba.shape == (500, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_predict_across_chunks(rng, monkeypatch):
    import cem._gmm
    X = blobs(rng, n=1000, d=2, k=3)
    gmm = GMM(3, random_state=0).fit(X)
    expected = gmm.predict_proba(X).argmax(axis=1)
    monkeypatch.setattr(cem._gmm, "CHUNK_ROWS", 128)
    np.testing.assert_array_equal(gmm.predict(X), expected)


def test_verbose_prints_progress(rng, capsys):
    X = blobs(rng, n=300, d=2, k=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cem.ConvergenceWarning)
        GMM(2, verbose=2, verbose_interval=1, random_state=0, max_iter=3, tol=0.0).fit(X)
    out = capsys.readouterr().out
    assert "Initialization 0" in out
    assert out.count("Iteration") == 3 and "time lapse" in out and "lower bound" in out


def test_feature_names_from_dataframe(rng):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(blobs(rng, n=200, d=2, k=2), columns=["a", "b"])
    gmm = GMM(2, random_state=0).fit(df)
    np.testing.assert_array_equal(gmm.feature_names_in_, ["a", "b"])
    assert gmm.n_features_in_ == 2
    gmm.predict(df)
    with pytest.raises(ValueError, match="feature names"):
        gmm.predict(df.rename(columns={"a": "z"}))


def test_n_threads_default_respects_omp_num_threads(monkeypatch):
    from cem._validation import effective_n_threads
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert effective_n_threads(None) == 3
    assert effective_n_threads(2) == 2
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert effective_n_threads(None) >= 1


def test_get_include_has_the_header():
    import os
    assert os.path.isfile(os.path.join(cem.get_include(), "cem.h"))
