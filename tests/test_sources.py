"""Every data source fits the rows it holds, exactly as the in-memory fit of
the same rows: memmaps (with an offset, sliced, views of views,
copy-on-write), every numeric dtype, array-likes, chunk streams longer than
the initialisation sample, Dask; empty and weightless chunks; and the
initial sample drawn in memory that does not grow with n."""
import sys
import tracemalloc
import warnings
from contextlib import contextmanager
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

import cem
import cem._sources
from cem import GMM, _core
from cem._sources import sample_rows
from conftest import SlicedArray, blobs, write_memmap

COVS = ["full", "tied", "diag", "spherical", "tied_diag", "tied_spherical"]
NUMERIC_DTYPES = [np.float64, np.float32, np.float16, np.int8, np.int16, np.int32, np.int64,
                  np.uint8, np.uint16, np.uint32, np.uint64, np.bool_]


def given_init(X, k, cov, seed=0):
    """All three *_init, so every source does the same EM from the same start."""
    X = np.asarray(X, dtype=np.float64)
    rng = np.random.default_rng(seed)
    d = X.shape[1]
    var = X.var(axis=0) + 1.0  # + 1: finite precisions for constant columns too
    precisions = {"full": np.array([np.diag(1 / var)] * k), "tied": np.diag(1 / var),
                  "diag": np.tile(1 / var, (k, 1)), "spherical": np.full(k, 1 / var.mean()),
                  "tied_diag": 1 / var, "tied_spherical": np.full(1, 1 / var.mean())}[cov]
    means = X[rng.choice(len(X), k, replace=False)] + rng.normal(scale=0.1, size=(k, d))
    return dict(weights_init=np.full(k, 1.0 / k), means_init=means, precisions_init=precisions)


def fit_both(reference_X, source, k=2, cov="full", sample_weight=None, **params):
    """(in-memory fit of reference_X, fit of source), same init; or the two
    exceptions' types when the in-memory fit raises."""
    init = given_init(reference_X, k, cov)
    kw = dict(covariance_type=cov, tol=0.0, max_iter=6, **init, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cem.ConvergenceWarning)
        try:
            ref = GMM(k, **kw).fit(reference_X, sample_weight=sample_weight)
        except ValueError:
            event("the in-memory fit raised: the source must raise too")
            with pytest.raises(ValueError):
                GMM(k, **kw).fit(source, sample_weight=sample_weight)
            return None, None
        got = GMM(k, **kw).fit(source, sample_weight=sample_weight)
    return ref, got


def assert_same_fit(a, b, rtol=1e-10):
    """Same fit up to summation order (chunks add their statistics in
    another order than one pass does). The precision factors invert the
    covariances, so their rounding differences are those of the covariances
    amplified by the covariances' condition number (a few rows in several
    dimensions make it large)."""
    assert a.n_iter_ == b.n_iter_
    cov = np.asarray(a.covariances_, dtype=np.float64)
    if a.covariance_type in ("full", "tied"):
        condition = float(np.max(np.linalg.cond(cov.reshape(-1, *cov.shape[-2:]))))
    else:
        condition = float(cov.max() / cov.min())
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, (name, x.dtype, y.dtype)
        tolerance = rtol * max(1.0, condition) if name == "precisions_cholesky_" else rtol
        np.testing.assert_allclose(y, x, rtol=tolerance, atol=1e-12, err_msg=name)
    # each bound is that of the previous iteration's parameters, precisions
    # included: the same amplification
    np.testing.assert_allclose(b.lower_bounds_, a.lower_bounds_, rtol=rtol * max(1.0, condition))


@contextmanager
def small_chunks(rows):
    """Several chunks even for small data."""
    with mock.patch.object(cem._sources, "CHUNK_ROWS", rows):
        yield


@contextmanager
def small_init_sample(rows):
    """A smaller initialisation sample, wherever the EM driver reads it."""
    modules = [m for name, m in list(sys.modules.items())
               if name.startswith("cem") and hasattr(m, "INIT_SAMPLE_ROWS")]
    old = [m.INIT_SAMPLE_ROWS for m in modules]
    for m in modules:
        m.INIT_SAMPLE_ROWS = rows
    try:
        yield
    finally:
        for m, v in zip(modules, old):
            m.INIT_SAMPLE_ROWS = v


# ---------------------------------------------------------------- memmaps
def file_offset(X):
    """(file name, byte offset) the chunked reader would read X's rows at."""
    found = cem._sources._memmap_file(X)
    return None if found is None else (str(found[0]), found[1])


@pytest.mark.parametrize("cov", COVS)
def test_sliced_memmap_fits_its_own_rows(rng, tmp_path, cov):
    """mm[500:] kept offset 0, and its rows were read from the file's start."""
    X = blobs(rng, n=2000, d=3, k=2)
    mm = write_memmap(tmp_path / "X.dat", X)
    with small_chunks(300):
        ref, got = fit_both(X[500:], mm[500:], cov=cov)
    assert_same_fit(ref, got)


def test_views_of_views_and_offsets_fit_their_own_rows(rng, tmp_path):
    X = blobs(rng, n=3000, d=2, k=2)
    mm = write_memmap(tmp_path / "X.dat", X, offset=4096 + 24)  # past a page boundary
    views = {"offset": (mm, X), "view of a view": (mm[100:][250:2900][7:], X[100:][250:2900][7:]),
             "rows of a reshape": (mm.reshape(-1)[40:].reshape(-1, 2)[3:],
                                   X.reshape(-1)[40:].reshape(-1, 2)[3:]),
             "column slice": (mm[:, 1:], X[:, 1:]), "step": (mm[::3], X[::3]),
             "reversed": (mm[::-1], X[::-1])}
    with small_chunks(256):
        for name, (source, rows) in views.items():
            ref, got = fit_both(np.ascontiguousarray(rows), source)
            assert_same_fit(ref, got), name


def test_copy_on_write_memmap_fits_its_edits(rng, tmp_path):
    """mode='c' edits live in memory only: the file holds other rows."""
    X = blobs(rng, n=2000, d=2, k=2)
    path = tmp_path / "X.dat"
    write_memmap(path, X)
    mm = np.memmap(path, dtype=X.dtype, mode="c", shape=X.shape)
    mm[:1000] += 50.0
    edited = np.array(mm)
    with small_chunks(300):
        ref, got = fit_both(edited, mm)
        assert_same_fit(ref, got)
        ref, got = fit_both(edited[200:], mm[200:])
        assert_same_fit(ref, got)


def test_read_write_memmap_reads_the_file_and_sees_writes(rng, tmp_path):
    X = blobs(rng, n=2000, d=2, k=2)
    path = tmp_path / "X.dat"
    write_memmap(path, X)
    mm = np.memmap(path, dtype=X.dtype, mode="r+", shape=X.shape)
    mm[1500:] *= 3.0
    assert file_offset(mm[10:]) == (str(path), 10 * X.itemsize * 2)
    with small_chunks(300):
        ref, got = fit_both(np.array(mm[10:]), mm[10:])
    assert_same_fit(ref, got)


@pytest.mark.parametrize("dtype", NUMERIC_DTYPES, ids=lambda t: np.dtype(t).name)
def test_every_dtype_of_memmap_and_array_like_fits_as_in_memory(rng, tmp_path, dtype):
    """int32/uint8/bool/float16 chunked sources gave integer weights_ = [0, 0]."""
    X = blobs(rng, n=1500, d=2, k=2, spread=20.0)
    if np.dtype(dtype).kind == "b":
        X = X > 0
    elif np.dtype(dtype).kind == "u":
        X = np.abs(X)
    X = X.astype(dtype)
    mm = write_memmap(tmp_path / "X.dat", X)
    with small_chunks(400):
        for source in (mm, SlicedArray(X), lambda: (X[i:i + 400] for i in range(0, 1500, 400))):
            ref, got = fit_both(X, source, cov="diag")
            if ref is not None:
                assert got.weights_.dtype == (np.float32 if dtype == np.float32 else np.float64)
                assert_same_fit(ref, got)
                np.testing.assert_array_equal(got.predict(X), ref.predict(X))


def test_memmap_file_is_read_only_when_it_holds_the_bytes(tmp_path):
    X = np.arange(40.0).reshape(20, 2)
    path = tmp_path / "X.dat"
    mm = write_memmap(path, X, offset=16)
    file_of = file_offset
    assert file_of(mm) == (str(path), 16)
    assert file_of(mm[3:]) == (str(path), 16 + 3 * 16)
    assert file_of(mm[3:][2:]) == (str(path), 16 + 5 * 16)
    assert file_of(mm[:, 1:]) is None  # rows not contiguous
    assert file_of(np.memmap(path, dtype=X.dtype, mode="c", offset=16, shape=X.shape)) is None
    assert file_of(np.asarray(mm)) is None


# ---------------------------------------------------------------- streams
def test_stream_longer_than_the_init_sample_fits(rng):
    """rng.integers on a RandomState: any stream past the sample crashed."""
    X = blobs(rng, n=5000, d=2, k=3, spread=8.0)
    chunks = lambda: (X[i:i + 700] for i in range(0, 5000, 700))
    with small_init_sample(1000):
        got = GMM(3, random_state=0, tol=1e-6).fit(chunks)
        again = GMM(3, random_state=0, tol=1e-6).fit(chunks)
    ref = GMM(3, random_state=0, tol=1e-6).fit(X)
    assert got.score(X) == pytest.approx(ref.score(X), rel=1e-3)
    assert_same_fit(got, again, rtol=0)  # the sample is a function of the seed


def test_reservoir_sample_is_uniform_over_the_stream():
    X = np.arange(40.0).repeat(2).reshape(40, 2)
    source = cem._sources.ChunkSource(lambda: (X[i:i + 7] for i in range(0, 40, 7)), "GMM")
    counts = np.zeros(40)
    rng = np.random.RandomState(0)
    for _ in range(4000):
        sample, w = source.init_sample(rng, 10)
        assert len(np.unique(sample[:, 0])) == 10 and (w == 1).all()
        counts[sample[:, 0].astype(int)] += 1
    expected = 4000 * 10 / 40
    assert np.abs(counts - expected).max() < 5 * np.sqrt(expected), counts


def test_real_stream_of_more_than_100000_rows(rng):
    """The README's stream of files, longer than the real 100,000-row sample."""
    X = blobs(rng, n=130_000, d=2, k=2, spread=8.0)
    chunks = lambda: (X[i:i + 20_000] for i in range(0, len(X), 20_000))
    got = GMM(2, random_state=0, max_iter=20).fit(chunks)
    assert got.n_iter_ >= 1 and np.isfinite(got.means_).all()
    ref = GMM(2, random_state=0, max_iter=20).fit(X)
    assert got.score(X) == pytest.approx(ref.score(X), rel=1e-3)


# ---------------------------------------------------------------- zero weight
def test_empty_and_weightless_chunks_fit_as_in_memory(rng):
    X = blobs(rng, n=3000, d=2, k=2)
    w = rng.uniform(0.5, 2.0, len(X))
    w[1000:1500] = 0.0
    cuts = [0, 1000, 1000, 1500, 1500, 3000]  # an empty chunk, a weightless chunk, an empty one

    def chunks():
        for a, b in zip(cuts[:-1], cuts[1:]):
            yield X[a:b], w[a:b]
    init = given_init(X, 2, "full")
    kw = dict(tol=0.0, max_iter=6, **init)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cem.ConvergenceWarning)
        ref = GMM(2, **kw).fit(X, sample_weight=w)
        assert_same_fit(ref, GMM(2, **kw).fit(chunks))
        with small_chunks(500):  # chunks 1000:1500 of the array-like weigh nothing
            assert_same_fit(ref, GMM(2, **kw).fit(SlicedArray(X), sample_weight=w))
        # and the same, initialised from the sample
        GMM(2, random_state=0).fit(chunks)
        with small_chunks(500):
            GMM(2, random_state=0).fit(SlicedArray(X), sample_weight=w)


def test_dask_with_empty_and_weightless_chunks(rng):
    da = pytest.importorskip("dask.array")
    import dask
    X = blobs(rng, n=3000, d=2, k=2)
    w = rng.uniform(0.5, 2.0, len(X))
    w[1000:1500] = 0.0
    chunks = (1000, 0, 500, 0, 1500)
    Xd = da.from_array(X, chunks=(chunks, 2))
    wd = da.from_array(w, chunks=(chunks,))
    init = given_init(X, 2, "full")
    kw = dict(tol=0.0, max_iter=6, **init)
    with warnings.catch_warnings(), dask.config.set(scheduler="synchronous"):
        warnings.simplefilter("ignore", cem.ConvergenceWarning)
        ref = GMM(2, **kw).fit(X, sample_weight=w)
        assert_same_fit(ref, GMM(2, **kw).fit(Xd, sample_weight=wd))
        np.testing.assert_array_equal(GMM(2, **kw).fit(Xd).predict(Xd).compute(),
                                      GMM(2, **kw).fit(X).predict(X))


def test_all_chunks_weightless_is_a_clear_error(rng):
    X = blobs(rng, n=300, d=2, k=2)
    init = given_init(X, 2, "full")
    chunks = lambda: ((X[i:i + 100], np.zeros(100)) for i in range(0, 300, 100))
    for params in (init, dict(random_state=0)):
        with pytest.raises(ValueError, match="sample_weight sums to zero"):
            GMM(2, **params).fit(chunks)
    with pytest.raises(ValueError, match="sample_weight sums to zero"):
        GMM(2, **init).fit(SlicedArray(X), sample_weight=np.zeros(300))


# ---------------------------------------------------------------- the sample
def test_sample_rows_are_distinct_sorted_and_uniform():
    rng = np.random.RandomState(0)
    for n, size in ((10, 3), (10, 10), (10, 20), (1000, 400), (1000, 600), (10**12, 1000)):
        rows = sample_rows(rng, n, size)
        assert len(rows) == min(n, size)
        assert (np.diff(rows) > 0).all() and rows[0] >= 0 and rows[-1] < n
    counts = np.zeros(30)
    pairs = np.zeros((30, 30))
    for _ in range(6000):
        rows = sample_rows(rng, 30, 5)  # n > 2 size: the rejection path
        counts[rows] += 1
        pairs[rows[0], rows[1]] += 1
    expected = 6000 * 5 / 30
    assert np.abs(counts - expected).max() < 5 * np.sqrt(expected), counts


def test_initial_sample_memory_does_not_grow_with_n():
    """RandomState.choice(10**8, 100_000, replace=False) took 800 MB."""
    rng = np.random.RandomState(0)
    tracemalloc.start()
    try:
        rows = sample_rows(rng, 10**8, 100_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(rows) == 100_000
    assert peak < 16 * 2**20, peak  # a few copies of 100,000 int64


# ---------------------------------------------------------------- properties
@st.composite
def sliced_memmaps(draw):
    dtype = draw(st.sampled_from(NUMERIC_DTYPES))
    n = draw(st.integers(30, 400))
    d = draw(st.integers(1, 4))
    start = draw(st.integers(0, n // 3))
    stop = draw(st.integers(start + 20, n))
    step = draw(st.sampled_from([1, 1, 1, 2]))
    cols = draw(st.sampled_from([None, 1]))
    offset = draw(st.sampled_from([0, 8, 4096 + 16]))
    mode = draw(st.sampled_from(["r", "r+", "c"]))
    cov = draw(st.sampled_from(COVS))
    chunk = draw(st.integers(7, 200))
    seed = draw(st.integers(0, 2**16))
    return dtype, n, d, slice(start, stop, step), cols, offset, mode, cov, chunk, seed


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=sliced_memmaps())
def test_property_memmap_views_fit_as_their_rows_in_memory(tmp_path, case):
    dtype, n, d, rows, cols, offset, mode, cov, chunk, seed = case
    rng = np.random.default_rng(seed)
    X = blobs(rng, n=n, d=d, k=2, spread=6.0) * 5
    if np.dtype(dtype).kind == "b":
        X = X > 0
    elif np.dtype(dtype).kind == "u":
        X = np.abs(X)
    X = X.astype(dtype)
    path = tmp_path / f"X{seed}.dat"
    write_memmap(path, X, offset)
    mm = np.memmap(path, dtype=dtype, mode=mode, offset=offset, shape=X.shape)
    if mode != "r":
        mm[: n // 4] = mm[n - n // 4:] if n // 4 else mm[:0]  # edits: private for 'c'
        X = np.array(mm)
    view, same = mm[rows], X[rows]
    if cols is not None and d > 1:
        view, same = view[:, cols:], same[:, cols:]
    with small_chunks(chunk):
        for source in (view, SlicedArray(np.asarray(view))):
            ref, got = fit_both(np.ascontiguousarray(same), source, cov=cov)
            if ref is not None:
                assert_same_fit(ref, got)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(10, 600), d=st.integers(1, 3), chunk_rows=st.integers(1, 250),
       weighted=st.booleans(), dtype=st.sampled_from([np.float64, np.float32, np.int16]),
       seed=st.integers(0, 2**16))
def test_property_streams_fit_as_in_memory(n, d, chunk_rows, weighted, dtype, seed):
    rng = np.random.default_rng(seed)
    X = (blobs(rng, n=n, d=d, k=2, spread=6.0) * 5).astype(dtype)
    w = rng.uniform(0.0, 2.0, n) if weighted else None
    if weighted:
        w[rng.random(n) < 0.3] = 0.0
        w[0] = 1.0

    def chunks():
        for i in range(0, n, chunk_rows):
            yield (X[i:i + chunk_rows], w[i:i + chunk_rows]) if weighted else X[i:i + chunk_rows]
            if i % 3 == 0:  # and some empty chunks
                yield (X[:0], w[:0]) if weighted else X[:0]
    init = given_init(X, 2, "diag")
    kw = dict(covariance_type="diag", tol=0.0, max_iter=4, **init)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cem.ConvergenceWarning)
        try:
            ref = GMM(2, **kw).fit(X, sample_weight=w)
        except ValueError:
            with pytest.raises(ValueError):
                GMM(2, **kw).fit(chunks)
            return
        assert_same_fit(ref, GMM(2, **kw).fit(chunks))


@settings(max_examples=10, deadline=None)
@given(n=st.integers(10, 400), chunk_rows=st.integers(1, 150), cov=st.sampled_from(COVS),
       dtype=st.sampled_from([np.float64, np.float32, np.int32]), seed=st.integers(0, 2**16))
def test_property_dask_fits_as_in_memory(n, chunk_rows, cov, dtype, seed):
    da = pytest.importorskip("dask.array")
    import dask
    rng = np.random.default_rng(seed)
    X = (blobs(rng, n=n, d=2, k=2, spread=6.0) * 5).astype(dtype)
    with dask.config.set(scheduler="synchronous"):
        ref, got = fit_both(X, da.from_array(X, chunks=(chunk_rows, 1)), cov=cov)
        if ref is not None:
            assert_same_fit(ref, got)
            np.testing.assert_allclose(got.score_samples(da.from_array(X, chunks=(chunk_rows, 2)))
                                       .compute(), ref.score_samples(X), rtol=1e-10)


def test_huge_thread_counts_below_the_estimator_are_clipped(rng, monkeypatch):
    """n_threads=2**31 gave a raw OverflowError (a C int). GMM's n_threads
    parameter rejects it clearly (tests/test_state.py); below the estimator,
    OMP_NUM_THREADS and the passes of every source clip it instead."""
    X = blobs(rng, n=500, d=2, k=2)
    ref = GMM(2, random_state=0).fit(X)
    monkeypatch.setenv("OMP_NUM_THREADS", str(2**40))
    for source in (X, SlicedArray(X)):
        np.testing.assert_array_equal(GMM(2, random_state=0).fit(source).means_, ref.means_)
    stats = _core.e_step("full", *ref._c_params(), X, n_threads=2**70)
    np.testing.assert_array_equal(stats, _core.e_step("full", *ref._c_params(), X, n_threads=1))
    da = pytest.importorskip("dask.array")
    import dask
    with dask.config.set(scheduler="synchronous"):
        got = GMM(2, random_state=0).fit(da.from_array(X, chunks=(100, 2)))
    assert np.isfinite(got.means_).all()
