"""random_state_for: an int seed's RandomState lent from a per-thread pool
must draw exactly what RandomState(seed) draws, and never be shared.
uniform_draws: numpy's uniform draws made in C on the MT19937 state in
place, the same bits and the same state after, from any position of it."""
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cem import GMM
from cem import _init
from cem._init import uniform_draws
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


def _same_state(a, b):
    sa, sb = a.get_state(), b.get_state()
    return (sa[0] == sb[0] and sa[1].tobytes() == sb[1].tobytes()
            and sa[2:4] == sb[2:4] and sa[4] == sb[4])


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), skip=st.integers(0, 1300),
       n=st.integers(0, 1500), k=st.integers(1, 5), gauss=st.booleans())
def test_uniform_draws_are_random_samples(seed, skip, n, k, gauss):
    # skip words first, so draws start at every position of the state,
    # odd ones too: a double's two words then straddle a regeneration
    ours, numpys = np.random.RandomState(seed), np.random.RandomState(seed)
    for rng in (ours, numpys):
        rng.randint(0, 2**32, size=skip, dtype=np.uint32)
        if gauss:  # a cached normal deviate must survive
            rng.standard_normal()
    drawn = uniform_draws(ours, n, k)
    assert _init._draws_in_place_agree()  # so this numpy's draws were made in C
    expected = numpys.random_sample((n, k))
    assert drawn.shape == (n, k) and drawn.flags.c_contiguous
    assert drawn.tobytes() == expected.tobytes()
    assert _same_state(ours, numpys)
    assert ours.standard_normal(3).tobytes() == numpys.standard_normal(3).tobytes()


@pytest.mark.parametrize("pos", [0, 1, 2, 622, 623, 624])
def test_uniform_draws_from_each_edge_of_the_state(pos):
    key = np.random.RandomState(5).randint(0, 2**32, size=624, dtype=np.uint64).astype(np.uint32)
    ours, numpys = np.random.RandomState(), np.random.RandomState()
    for rng in (ours, numpys):
        rng.set_state(("MT19937", key, pos))
    assert uniform_draws(ours, 700, 2).tobytes() == numpys.random_sample((700, 2)).tobytes()
    assert _same_state(ours, numpys)


def test_uniform_draws_in_threads_sharing_a_state_take_turns():
    # each call holds the bit generator's lock: the draws of two threads
    # interleave call by call, never inside one
    rng = np.random.RandomState(11)
    got = {}

    def draw(name):
        got[name] = [uniform_draws(rng, 500, 2) for _ in range(50)]

    threads = [threading.Thread(target=draw, args=(name,)) for name in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    blocks = sorted((b.tobytes() for b in got["a"] + got["b"]))
    numpys = np.random.RandomState(11)
    assert blocks == sorted(numpys.random_sample((500, 2)).tobytes() for _ in range(100))


def test_uniform_draws_from_other_bit_generators_are_numpys():
    ours = np.random.RandomState(np.random.PCG64(3))
    numpys = np.random.RandomState(np.random.PCG64(3))
    assert uniform_draws(ours, 50, 3).tobytes() == numpys.random_sample((50, 3)).tobytes()
    assert ours.random_sample() == numpys.random_sample()

    class Subclass(np.random.RandomState):
        def random_sample(self, size=None):
            return np.full(size, 0.5)

    assert (uniform_draws(Subclass(3), 4, 2) == 0.5).all()
