"""GMM on array views whose last byte ends at a guard page (a PROT_NONE page
right after the data): reading one byte past a view is a segfault here, not
a silently wrong number. Every case runs in a child process so that a crash
is reported as a failing case rather than killing the test run.

Layouts: C and Fortran order, reversed rows, a column-offset view of a wider
array, float32, and the float64 view whose row stride is exactly the padded
block width (padded(d) * 8 bytes, d < padded(d)) with NaN in the columns
beside it: the layout the fused pass is tempted to read in place."""
import os
import subprocess
import sys
import textwrap

import pytest

from conftest import CHILD_CWD, child_env

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin",
                                reason="needs Linux mmap/mprotect")

DIMENSIONS = (1, 3, 5, 7, 8, 9, 16)
TILE_COLS = 8  # CEM_TILE_COLS: blocks are padded to whole multiples of 8 doubles

CHILD = textwrap.dedent('''
    import ctypes, mmap, sys
    import numpy as np
    from cem import GMM

    PAGE = mmap.PAGESIZE
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    keep = []

    def guarded(shape, dtype):
        """A zeroed array of this shape whose last byte is the last byte
        before a PROT_NONE page."""
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        pages = (nbytes + PAGE - 1) // PAGE
        m = mmap.mmap(-1, (pages + 1) * PAGE)
        base = ctypes.addressof(ctypes.c_char.from_buffer(m))
        if libc.mprotect(base + pages * PAGE, PAGE, 0) != 0:
            raise OSError(ctypes.get_errno(), "mprotect")
        keep.append(m)
        return np.frombuffer(m, dtype=dtype, count=int(np.prod(shape)),
                             offset=pages * PAGE - nbytes).reshape(shape)

    def layouts(values, group, padded):
        n, d = values.shape
        if group == "padded_stride":  # row stride == padded(d) * 8, NaN beside
            big = guarded((n, padded), np.float64)
            big[:] = np.nan
            big[:, padded - d:] = values
            yield "padded_stride", big[:, padded - d:]
            return
        c = guarded((n, d), np.float64)
        c[:] = values
        yield "c", c
        f = guarded((d, n), np.float64)
        f[:] = values.T
        yield "fortran", f.T
        r = guarded((n, d), np.float64)
        r[:] = values[::-1]
        yield "reversed_rows", r[::-1]
        wide = guarded((n, d + 2), np.float64)
        wide[:, :2] = np.nan
        wide[:, 2:] = values
        yield "column_offset", wide[:, 2:]
        c32 = guarded((n, d), np.float32)
        c32[:] = values
        yield "float32", c32
        big32 = guarded((n, padded), np.float32)
        big32[:] = np.nan
        big32[:, padded - d:] = values
        yield "float32_padded_stride", big32[:, padded - d:]

    def main(d, group, padded):
        rng = np.random.default_rng(d)
        n = 300  # four full 64-row blocks and a partial one
        values = rng.normal(size=(n, d)) + 6.0 * (rng.random(n) < 0.5)[:, None]
        for name, X in layouts(values, group, padded):
            copy = np.array(X)  # the same values, contiguous, away from the guard
            for cov in ("full", "tied", "diag", "spherical"):
                where = f"{name} {cov} d={d}"
                params = dict(n_components=2, covariance_type=cov, random_state=0,
                              max_iter=5, tol=0.0)
                ours, ref = GMM(**params).fit(X), GMM(**params).fit(copy)
                np.testing.assert_allclose(ours.means_, ref.means_, rtol=1e-9, atol=1e-9,
                                           err_msg=where)
                np.testing.assert_array_equal(ref.predict(X), ref.predict(copy), where)
                np.testing.assert_allclose(ref.score_samples(X), ref.score_samples(copy),
                                           rtol=1e-12, err_msg=where)
                np.testing.assert_allclose(ref.predict_proba(X), ref.predict_proba(copy),
                                           atol=1e-12, err_msg=where)
        print("ok")

    main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]))
''')


def _padded(d):
    return (d + TILE_COLS - 1) // TILE_COLS * TILE_COLS


def _case(d, group):
    return pytest.param(d, group, id=f"{group}-d{d}")


@pytest.mark.parametrize("d, group", [_case(d, g) for g in ("plain", "padded_stride")
                                      for d in DIMENSIONS])
def test_methods_on_views_ending_at_a_guard_page(d, group):
    out = subprocess.run([sys.executable, "-c", CHILD, str(d), group, str(_padded(d))],
                         capture_output=True, text=True, timeout=300, env=child_env(),
                         cwd=CHILD_CWD)
    assert out.returncode == 0 and out.stdout.strip() == "ok", \
        f"exit {out.returncode}\n{out.stdout}\n{out.stderr[-3000:]}"
