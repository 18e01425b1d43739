"""cem._init's random initialisation helpers against what they replace."""
import numpy as np
import pytest

from cem._core import normalise_rows

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

WIDTHS = [1, 2, 3, 7, 8, 9, 15, 16, 17, 127, 128, 129, 136, 255, 256, 257, 300, 1000]


def _numpys(a):
    """What normalise_rows replaces: a / a.sum(axis=1)[:, None]."""
    with np.errstate(all="ignore"):
        return a / a.sum(axis=1)[:, None]


@pytest.mark.parametrize("k", WIDTHS)
def test_normalise_rows_is_numpys_bit_for_bit(k):
    # the random initialisation's draws: uniforms on [0, 1), many rows
    a = np.random.RandomState(k).uniform(size=(2000, k))
    expected = _numpys(a)
    assert normalise_rows(a) is a
    assert a.tobytes() == expected.tobytes()


@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=300),
                  elements=st.floats(-1e300, 1e300)))
def test_normalise_rows_any_values_bit_for_bit(a):
    # signed zeros, cancellation and wide exponents: any order change in the
    # sum shows (and a zero sum gives numpy's inf and nan)
    expected = _numpys(a)
    assert normalise_rows(a).tobytes() == expected.tobytes()


def test_normalise_rows_of_negative_zeros_divides_by_positive_zero():
    for k in (1, 2, 9, 200):
        a = np.full((3, k), -0.0)
        a[0, 0] = 1.0
        expected = _numpys(a)
        assert normalise_rows(a).tobytes() == expected.tobytes()


def test_normalise_rows_rejects_what_it_cannot_write():
    with pytest.raises((ValueError, TypeError)):
        normalise_rows(np.ones((3, 2), dtype=np.float32))
    with pytest.raises((ValueError, TypeError)):
        normalise_rows(np.ones((2, 3)).T)  # not C-contiguous
    with pytest.raises((ValueError, TypeError)):
        normalise_rows(np.ones(3))
