"""The input check's scan for values that are not finite (_core.all_finite,
cem_rows_finite in C): it must agree with numpy's isfinite on every layout
check_X passes on (views, strides, float32), find a bad value in any chunk
on any thread count, never read outside the view, and leave the messages
scikit-learn's."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import cem
from cem import _core
from cem._validation import check_X

BAD = [np.nan, np.inf, -np.inf]


def layouts(base):
    """Views of a 2-D array as check_X may hand them over."""
    n, d = base.shape
    yield base
    yield np.asfortranarray(base)
    yield base[::-1]
    yield base[::2]
    if d > 1:
        yield base[:, 1:]
        yield base[:, ::2]
        yield base[:, ::-1]
    yield base.T.copy().T


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 90), d=st.integers(1, 11),
       dtype=st.sampled_from([np.float64, np.float32]),
       bad=st.sampled_from([None] + BAD), where=st.floats(0.0, 1.0),
       seed=st.integers(0, 2**16))
def test_agrees_with_numpy_on_every_layout(n, d, dtype, bad, where, seed):
    base = np.random.default_rng(seed).normal(size=(n, d)).astype(dtype)
    if bad is not None and n > 0:
        base.flat[int(where * (base.size - 1))] = bad
    for view in layouts(base):
        expected = bool(np.isfinite(view).all())
        for threads in (1, 2):
            assert _core.all_finite(view, threads) is expected


@pytest.mark.parametrize("row", [0, 1, 524_287, 524_288, 1_048_579])
@pytest.mark.parametrize("threads", [1, 2])
def test_finds_a_value_in_any_chunk(row, threads):
    """d = 1: 2^19 rows a task, so 1,048,580 rows are three tasks; a bad
    value in the first, at a boundary, or in the last row of the last."""
    X = np.ones((1_048_580, 1))
    assert _core.all_finite(X, threads)
    X[row, 0] = np.inf
    assert not _core.all_finite(X, threads)


@pytest.mark.parametrize("value", BAD)
def test_a_value_beside_a_column_view_is_not_read(value):
    base = np.ones((300, 7))
    base[:, 3] = value
    assert _core.all_finite(base[:, :3], 2)
    assert _core.all_finite(base[:, 4:], 2)
    assert _core.all_finite(base[:, ::3][:, [0, 2]].copy(), 2)
    assert not _core.all_finite(base[:, 3:5], 2)


def test_large_finite_values_are_finite():
    X = np.array([[np.finfo(np.float64).max, -np.finfo(np.float64).max],
                  [np.finfo(np.float64).tiny, 5e-324]])
    assert _core.all_finite(X, 1)
    assert _core.all_finite(np.array([[np.finfo(np.float32).max, 1e-45]], np.float32), 1)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("value, message", [(np.nan, "Input X contains NaN."),
                                            (np.inf, "Input X contains infinity")])
def test_check_X_keeps_scikit_learns_messages(threads, value, message):
    X = np.random.default_rng(0).normal(size=(5000, 3))
    X[4321, 2] = value
    with pytest.raises(ValueError, match=message):
        check_X(X, n_threads=threads)
    with pytest.raises(ValueError, match=message):
        cem.GMM(2, n_threads=threads).fit(X)
    fitted = cem.GMM(2, n_threads=threads, random_state=0).fit(np.nan_to_num(X, posinf=0.0))
    with pytest.raises(ValueError, match=message):
        fitted.predict(X)


def test_missing_values_still_pass_with_allow_nan():
    X = np.ones((50, 2))
    X[3, 1] = np.nan
    assert check_X(X, allow_nan=True, n_threads=2) is X
    X[4, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        check_X(X, allow_nan=True, n_threads=2)
