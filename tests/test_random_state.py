"""random_state_for: an int seed's RandomState lent from a per-thread pool
must draw exactly what RandomState(seed) draws, and never be shared."""
import threading

import numpy as np
import pytest

from cem import GMM
from cem._validation import random_state_for
from conftest import blobs


@pytest.mark.parametrize("seed", [0, 1, 12345, 2**32 - 1, np.int64(7), np.uint32(3)])
def test_lent_state_draws_as_a_new_random_state(seed):
    with random_state_for(5) as used:  # leave a cached normal deviate behind
        used.standard_normal(3)
    with random_state_for(seed) as rng:
        fresh = np.random.RandomState(seed)
        assert rng.standard_normal(5).tobytes() == fresh.standard_normal(5).tobytes()
        assert rng.uniform(size=7).tobytes() == fresh.uniform(size=7).tobytes()
        assert (rng.choice(100, 5, replace=False) == fresh.choice(100, 5, replace=False)).all()


def test_nested_blocks_get_their_own_state():
    expected = np.random.RandomState(0)
    with random_state_for(0) as outer:
        first = outer.uniform(size=3)
        with random_state_for(1) as inner:
            assert inner is not outer
            inner.uniform(size=11)
        second = outer.uniform(size=3)  # the inner seeding did not touch it
    assert first.tobytes() == expected.uniform(size=3).tobytes()
    assert second.tobytes() == expected.uniform(size=3).tobytes()


def test_other_seeds_pass_through():
    rs = np.random.RandomState(3)
    with random_state_for(rs) as rng:
        assert rng is rs
    with random_state_for(None) as rng:
        assert rng is np.random.mtrand._rand


@pytest.mark.parametrize("seed", [-1, 2**32, np.int64(-5)])
def test_bad_seed_raises_as_random_state_and_spoils_nothing(seed):
    with pytest.raises((ValueError, TypeError)) as ours:
        with random_state_for(seed):
            pass
    with pytest.raises(type(ours.value)) as theirs:
        np.random.RandomState(seed)
    assert str(ours.value) == str(theirs.value)
    with random_state_for(4) as rng:
        assert rng.uniform() == np.random.RandomState(4).uniform()


def test_raising_block_returns_the_state():
    with pytest.raises(RuntimeError):
        with random_state_for(0) as rng:
            rng.uniform(size=5)
            raise RuntimeError
    with random_state_for(0) as again:
        assert again.uniform() == np.random.RandomState(0).uniform()


def test_fits_in_threads_match_fits_in_turn():
    X = blobs(np.random.default_rng(0), n=600, d=2, k=3)
    kw = dict(n_components=3, init_params="random", n_init=2)
    alone = [GMM(random_state=s, **kw).fit(X).means_ for s in range(8)]
    out = [None] * 8

    def fit(s):
        for _ in range(5):
            out[s] = GMM(random_state=s, **kw).fit(X).means_

    threads = [threading.Thread(target=fit, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in range(8):
        assert out[s].tobytes() == alone[s].tobytes()
