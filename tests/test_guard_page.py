"""The C core never reads outside the n x d matrix it is given (issue 9,
defect 1): views whose buffer ends at a PROT_NONE page, and NaN beside a
column view. The guard-page runs happen in a child process, so an
out-of-bounds read fails the test instead of killing the test run."""
import mmap
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conftest import CHILD_CWD, child_env

import cem

COVS = ["full", "tied", "diag", "spherical", "tied_diag", "tied_spherical"]

GUARDED = textwrap.dedent("""
    import ctypes, mmap, sys
    import numpy as np
    import cem

    def guarded(n, cols, dtype):
        # an (n, cols) array whose last byte is the last byte before a
        # PROT_NONE page: any read past it faults
        itemsize = np.dtype(dtype).itemsize
        nbytes = n * cols * itemsize
        pages = -(-nbytes // mmap.PAGESIZE)
        buf = mmap.mmap(-1, (pages + 1) * mmap.PAGESIZE)
        base = ctypes.addressof(ctypes.c_char.from_buffer(buf))
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        if libc.mprotect(base + pages * mmap.PAGESIZE, mmap.PAGESIZE, 0) != 0:
            raise OSError(ctypes.get_errno(), "mprotect")
        a = np.frombuffer(buf, dtype=dtype, count=n * cols,
                          offset=pages * mmap.PAGESIZE - nbytes).reshape(n, cols)
        return a

    n, cols, first, dtype, cov = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
    rng = np.random.default_rng(0)
    big = guarded(n, cols, dtype)
    big[:] = rng.normal(size=(n, cols)) + 4.0 * (np.arange(n) % 2)[:, None]
    X = big[:, first:]
    gmm = cem.GMM(2, covariance_type=cov, random_state=0, max_iter=5).fit(X)
    s = gmm.score_samples(X)
    gmm.predict(X)
    assert np.isfinite(s).all()
    print("ok")
""")


def run_guarded(*args):
    return subprocess.run([sys.executable, "-c", GUARDED, *map(str, args)],
                          capture_output=True, text=True, env=child_env(), cwd=CHILD_CWD,
                          timeout=120)


@pytest.mark.skipif(not hasattr(mmap, "PAGESIZE") or os.name == "nt", reason="needs mprotect")
@pytest.mark.parametrize("cov", COVS)
@pytest.mark.parametrize("n,cols,first,dtype", [
    (200, 8, 3, "float64"),    # d = 5 < padded 8, row stride = 8 doubles: the over-read
    (200, 16, 1, "float64"),   # d = 15, stride 16
    (64, 24, 7, "float64"),    # d = 17, stride 24
    (200, 8, 0, "float64"),    # d = padded: in place is exact and safe
    (203, 8, 3, "float64"),    # a last block of 11 rows
    (200, 8, 3, "float32"),
    (200, 4, 1, "float64"),    # narrow
])
def test_view_ending_at_a_guard_page(cov, n, cols, first, dtype):
    out = run_guarded(n, cols, first, dtype, cov)
    assert out.returncode == 0 and out.stdout.strip() == "ok", (out.returncode, out.stderr[-2000:])


@pytest.mark.parametrize("cov", COVS)
def test_nan_beside_a_column_view_is_not_read(cov):
    rng = np.random.default_rng(1)
    data = rng.normal(size=(400, 8)) + 5.0 * (np.arange(400) % 2)[:, None]
    X = data[:, :5].copy()
    data[:, 5:] = np.nan
    view = data[:, :5]
    ref = cem.GMM(2, covariance_type=cov, random_state=0).fit(X)
    got = cem.GMM(2, covariance_type=cov, random_state=0).fit(view)
    np.testing.assert_array_equal(got.means_, ref.means_)
    np.testing.assert_array_equal(got.score_samples(view), ref.score_samples(X))
    np.testing.assert_array_equal(got.predict(view), ref.predict(X))
