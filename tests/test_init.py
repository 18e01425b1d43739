"""cem._init: the initial partitions' helpers against what they replace."""
import numpy as np
import pytest

from cem._init import row_sums

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

WIDTHS = [1, 2, 3, 7, 8, 9, 15, 16, 17, 127, 128, 129, 136, 255, 256, 257, 300, 1000]


@pytest.mark.parametrize("k", WIDTHS)
def test_row_sums_are_numpys_bit_for_bit(k):
    # the random initialisation's draws: uniforms on [0, 1), many rows
    a = np.random.RandomState(k).uniform(size=(2000, k))
    np.testing.assert_array_equal(row_sums(a), a.sum(axis=1))
    assert row_sums(a).tobytes() == a.sum(axis=1).tobytes()


@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=300),
                  elements=st.floats(-1e300, 1e300)))
def test_row_sums_any_values_bit_for_bit(a):
    # signed zeros, cancellation and wide exponents: any order change shows
    assert row_sums(a).tobytes() == a.sum(axis=1).tobytes()


def test_row_sums_of_negative_zeros_are_positive_zero():
    for k in (1, 2, 9, 200):
        a = np.full((3, k), -0.0)
        assert row_sums(a).tobytes() == a.sum(axis=1).tobytes() == np.zeros(3).tobytes()
