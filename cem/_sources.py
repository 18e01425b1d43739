"""Where the rows come from: data in memory, data read chunk by chunk
(np.memmap files, h5py/zarr-like arrays, callables yielding chunks) and
Dask arrays. Every source computes the statistics of all its rows under a
model in one pass (EM's E-step), so the EM loop in cem/_gmm.py is the same
for all of them; chunked and Dask sources add per-chunk statistics, which is
exact because statistics add.
"""
import mmap

import numpy as np

from cem import _core
from cem._validation import (
    CHUNK_ROWS, ZERO_WEIGHT_MESSAGE, check_dense, check_sample_weight, check_X,
    effective_n_threads,
)

# Rows an initialisation draws from data that is not in memory.
INIT_SAMPLE_ROWS = 100_000


def fit_dtype(dtype):
    """The float dtype a fit of data of this dtype works in and returns:
    float32 for float32, float64 for every other number (as check_X)."""
    return np.dtype(np.float32) if np.dtype(dtype) == np.float32 else np.dtype(np.float64)


def sample_rows(rng, n, size):
    """`size` distinct rows of range(n), uniformly at random, sorted, in
    O(size) memory whatever n (RandomState.choice(n, size, replace=False)
    permutes all n rows: 8 bytes per row). Draws with replacement and keeps
    the distinct rows until there are `size` of them: the rule never looks
    at which rows were drawn, so every subset is equally likely. The draws
    differ from scikit-learn's, which matters only for sources that are not
    in memory (those already initialise from a sample)."""
    if size >= n:
        return np.arange(n)
    if n <= 2 * size:  # n is O(size) here; rejection would need many rounds
        return np.sort(rng.permutation(n)[:size])
    rows = np.unique(rng.randint(0, n, size=size, dtype=np.int64))
    while len(rows) < size:  # each round keeps at least half its draws on average
        more = rng.randint(0, n, size=size - len(rows), dtype=np.int64)
        rows = np.unique(np.concatenate([rows, more]))
    return rows


def is_dask_array(X):
    """A dask.array.Array (recognised without importing dask)."""
    return type(X).__module__.split(".")[0] == "dask" and hasattr(X, "to_delayed")


def _is_chunked_array(X):
    """np.memmap, or a 2-D array-like that slices (h5py, zarr) but is not an
    in-memory numpy array or a DataFrame."""
    if isinstance(X, np.memmap):
        return True
    if isinstance(X, np.ndarray) or hasattr(X, "columns"):
        return False
    shape = getattr(X, "shape", None)
    return (shape is not None and len(shape) == 2 and hasattr(X, "dtype")
            and hasattr(X, "__getitem__"))


def data_source(X, sample_weight, name, missing=False, n_threads=1):
    """The source for fit's X: Dask, chunked, a callable of chunks, or memory.
    missing: NaN means "not observed" (GMM(missing="marginalize")): the
    checks let it through and every pass marginalizes it. n_threads: for
    the check of an in-memory X."""
    check_dense(X)  # a sparse matrix would pass for a chunked array below
    if is_dask_array(X):
        return DaskSource(X, sample_weight, name, missing)
    if callable(X) and not hasattr(X, "shape"):
        if sample_weight is not None:
            raise ValueError("with a chunk source, yield (X_chunk, weight_chunk) pairs "
                             "instead of passing sample_weight")
        return ChunkSource(X, name, missing)
    if _is_chunked_array(X):
        return ChunkedArraySource(X, sample_weight, name, missing)
    return InMemorySource(X, sample_weight, name, missing, n_threads)


def source_threads(source, n_threads):
    """Threads for each pass over the source, from the estimator's n_threads:
    effective_n_threads, except one per Dask task unless n_threads is given
    (a task per chunk already keeps the workers busy)."""
    if isinstance(source, DaskSource) and n_threads is None:
        return 1
    return effective_n_threads(n_threads)


def _chunk_statistics(covariance_type, params, X, sample_weight, n_threads, shift=None,
                      missing=False):
    """Statistics of rows X under params (weights, means, prec_chol), moments
    about shift ((k, d); None for the means); NaN marginalized if missing."""
    weights, means, prec_chol = params
    return _core.e_step(covariance_type, weights, means, prec_chol, X, sample_weight,
                        n_threads=n_threads, shift=shift, missing=missing)


class InMemorySource:
    """An in-memory array: one parallel pass per E-step, no copy of X."""

    def __init__(self, X, sample_weight, name, missing=False, n_threads=1):
        self.missing = missing
        self.X = check_X(X, min_samples=2, name=name, allow_nan=missing, n_threads=n_threads)
        self.sample_weight = check_sample_weight(sample_weight, self.X.shape[0])
        self.n_rows, self.n_features = self.X.shape
        self.dtype = self.X.dtype

    def init_sample(self, rng, max_rows):
        return self.X, self.sample_weight  # all of it: the same draws as scikit-learn

    def statistics(self, covariance_type, params, n_threads, shift=None):
        """Flat statistics of every row under params (weights, means,
        prec_chol), moments about shift (None: the means)."""
        return _chunk_statistics(covariance_type, params, self.X, self.sample_weight, n_threads,
                                 shift, self.missing)


class _ChunkedSource:
    """Rows in chunks, each validated as it is read; statistics added in
    chunk order."""
    name = "GMM"
    missing = False

    def statistics(self, covariance_type, params, n_threads, shift=None):
        """Flat statistics of every row under params, chunk by chunk, moments
        about shift (None: the means)."""
        total = None
        for X, w in self.chunks():
            stats = _chunk_statistics(covariance_type, params, X, w, n_threads, shift,
                                      self.missing)
            total = stats if total is None else total + stats
        if total is None:
            raise ValueError("the data source yielded no rows")
        return _check_total_weight(total)

    def _checked(self, X, w):
        """One chunk, validated; it may be empty or weigh nothing: only the
        total weight of all chunks must be positive."""
        return _checked_chunk(X, w, self.n_features, self.name, self.missing)


class ChunkedArraySource(_ChunkedSource):
    """A 2-D array-like read CHUNK_ROWS rows at a time. An np.memmap is read
    from its file with plain reads, so its pages never pile up in this
    process's resident memory; other array-likes (h5py, zarr) are sliced."""

    def __init__(self, X, sample_weight, name, missing=False):
        self.X, self.name, self.missing = X, name, missing
        self.n_rows, self.n_features = (int(s) for s in X.shape)
        self.dtype = fit_dtype(X.dtype)
        if self.n_rows < 2:
            raise ValueError(f"Found array with {self.n_rows} sample(s) while a minimum of 2 "
                             f"is required by {name}.")
        self.sample_weight = check_sample_weight(sample_weight, self.n_rows)
        self._file = _memmap_file(X)

    def _rows(self, start, stop):
        if self._file is not None:
            filename, offset = self._file
            with open(filename, "rb") as f:
                f.seek(offset + start * self.n_features * self.X.dtype.itemsize)
                count = (stop - start) * self.n_features
                block = np.fromfile(f, dtype=self.X.dtype, count=count)
            if block.size != count:
                raise ValueError(f"{filename} ended before row {stop} of the memmap")
            return block.reshape(stop - start, self.n_features)
        return np.asarray(self.X[start:stop])

    def chunks(self):
        for start in range(0, self.n_rows, CHUNK_ROWS):
            stop = min(start + CHUNK_ROWS, self.n_rows)
            w = None if self.sample_weight is None else self.sample_weight[start:stop]
            yield self._checked(self._rows(start, stop), w)

    def init_sample(self, rng, max_rows):
        """A uniform sample of at most max_rows rows, read chunk by chunk so
        memory stays bounded however the rows are spread; chunks without a
        sampled row are not read."""
        rows = sample_rows(rng, self.n_rows, max_rows)
        parts = []
        for start in range(0, self.n_rows, CHUNK_ROWS):
            stop = min(start + CHUNK_ROWS, self.n_rows)
            lo, hi = np.searchsorted(rows, [start, stop])
            if hi > lo:
                parts.append(np.asarray(self._rows(start, stop))[rows[lo:hi] - start])
        X = check_X(np.concatenate(parts), min_samples=2, name=self.name,
                    allow_nan=self.missing)
        w = None if self.sample_weight is None else self.sample_weight[rows]
        return X, w


def _memmap_file(X):
    """(filename, byte offset of X[0, 0]) when reading X's rows from its file
    provably gives X's bytes, else None (then X is sliced in memory).

    A view of an np.memmap (mm[500:], a view of a view) keeps the offset of
    the memmap it came from, so the true offset is computed from the data
    pointers: the memmap that owns the mapping (the end of the .base chain,
    whose base is the mmap object) starts at its own offset in the file.
    Only shared mappings ('r', 'r+', 'w+') show the file's bytes; a 'c'
    (copy-on-write) memmap may hold private edits. Rows must be C-contiguous
    so that consecutive rows are consecutive bytes of the file."""
    if not (isinstance(X, np.memmap) and X.flags.c_contiguous and X.size > 0):
        return None
    owner = X
    while isinstance(owner.base, np.ndarray):
        owner = owner.base
    if not (isinstance(owner, np.memmap) and isinstance(owner.base, mmap.mmap)
            and owner.mode in ("r", "r+", "w+") and owner.filename is not None
            and owner.offset is not None and X.filename == owner.filename):
        return None
    delta = X.ctypes.data - owner.ctypes.data
    try:  # owner's data starts offset % ALLOCATIONGRANULARITY bytes into the mapping
        room = len(owner.base) - owner.offset % mmap.ALLOCATIONGRANULARITY - delta
    except ValueError:  # the mapping was closed
        return None
    if delta < 0 or X.nbytes > room:
        return None  # not inside the mapping: never read bytes X does not hold
    return owner.filename, owner.offset + delta


class ChunkSource(_ChunkedSource):
    """A callable returning a fresh iterator of chunks (arrays, or
    (X_chunk, weight_chunk) pairs) on every call: data that only streams."""

    def __init__(self, make_chunks, name, missing=False):
        self.make_chunks, self.name, self.missing = make_chunks, name, missing
        first = next(iter(self._raw()), None)
        if first is None:
            raise ValueError("the chunk source yielded no chunks")
        X0 = check_X(first[0], min_samples=0, name=name, allow_nan=missing)
        self.n_features, self.dtype, self.n_rows = X0.shape[1], X0.dtype, None

    def _raw(self):
        for item in self.make_chunks():
            yield item if isinstance(item, tuple) else (item, None)

    def chunks(self):
        for X, w in self._raw():
            yield self._checked(X, w)

    def init_sample(self, rng, max_rows):
        """A uniform sample of at most max_rows rows, by reservoir sampling
        over one pass (Algorithm R, vectorised per chunk)."""
        sample, weights, seen = None, None, 0
        for X, w in self.chunks():
            m = X.shape[0]
            if w is None:
                w = np.ones(m)
            if sample is None:
                sample = np.empty((max_rows, X.shape[1]), dtype=X.dtype)
                weights = np.empty(max_rows)
            take = min(max(max_rows - seen, 0), m)
            sample[seen:seen + take], weights[seen:seen + take] = X[:take], w[:take]
            if take < m:  # row t (0-based, global) replaces slot j < max_rows w.p. max_rows/(t+1)
                t = seen + np.arange(take, m)
                j = rng.randint(0, t + 1)  # rng is a RandomState (scikit-learn's rule)
                keep = j < max_rows
                sample[j[keep]], weights[j[keep]] = X[take:][keep], w[take:][keep]
            seen += m
        n = min(seen, max_rows)
        if n < 2:
            raise ValueError("the chunk source holds fewer than 2 rows")
        if not weights[:n].sum() > 0:
            raise ValueError(ZERO_WEIGHT_MESSAGE)
        self.n_rows = seen
        return sample[:n], weights[:n]


class DaskSource:
    """A dask.array: each E-step maps the C pass over the row chunks (on the
    default scheduler or a distributed.Client), adds the statistics in a
    tree on the workers, and brings one statistics array to the client."""

    def __init__(self, X, sample_weight, name, missing=False):
        import dask.array as da
        self.missing = missing
        if X.ndim != 2:
            raise ValueError(f"Expected a 2D array, got an array with {X.ndim} dimension(s)")
        self.name = name
        self.X = X.rechunk({1: -1})  # whole rows in every chunk
        self.n_rows, self.n_features = (int(s) for s in X.shape)
        self.dtype = np.dtype(X.dtype) if X.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        if self.n_rows < 2:
            raise ValueError(f"Found array with {self.n_rows} sample(s) while a minimum of 2 "
                             f"is required by {name}.")
        self.sample_weight = None
        if sample_weight is not None:
            w = sample_weight if hasattr(sample_weight, "rechunk") else da.from_array(
                np.asarray(sample_weight, dtype=np.float64))
            if w.shape != (self.n_rows,):
                raise ValueError(f"sample_weight.shape == {w.shape}, expected {(self.n_rows,)}!")
            self.sample_weight = w.rechunk((self.X.chunks[0],))

    def init_sample(self, rng, max_rows):
        rows = sample_rows(rng, self.n_rows, max_rows)
        X = check_X(self.X[rows].compute(), min_samples=2, name=self.name,
                    allow_nan=self.missing)
        w = None if self.sample_weight is None else check_sample_weight(
            self.sample_weight[rows].compute(), len(rows))
        return X, w

    def statistics(self, covariance_type, params, n_threads, shift=None):
        """Flat statistics of every row under params, a task per chunk added
        in a tree, moments about shift (None: the means)."""
        import dask
        blocks = self.X.to_delayed().ravel()
        weights = ([None] * len(blocks) if self.sample_weight is None
                   else list(self.sample_weight.to_delayed().ravel()))
        task = dask.delayed(_checked_chunk_statistics, pure=True)
        parts = [task(covariance_type, params, b, w, self.n_features, n_threads, self.name, shift,
                      self.missing)
                 for b, w in zip(blocks, weights)]
        add = dask.delayed(_add, pure=True)
        while len(parts) > 1:  # a balanced tree, pairs in chunk order
            parts = [add(parts[i], parts[i + 1]) if i + 1 < len(parts) else parts[i]
                     for i in range(0, len(parts), 2)]
        return _check_total_weight(dask.compute(parts[0])[0])


def _checked_chunk(X, w, n_features, name, missing=False):
    """A chunk of a chunked or Dask source, validated: it may be empty or
    weigh nothing (only the total weight must be positive)."""
    X = check_X(X, min_samples=0, n_features=n_features, name=name, allow_nan=missing)
    return X, None if w is None else check_sample_weight(w, X.shape[0], positive_sum=False)


def _check_total_weight(stats):
    """The summed statistics of all chunks, once their total weight is
    known to be positive (the check an in-memory sample_weight gets)."""
    if not stats[0] > 0:
        raise ValueError(ZERO_WEIGHT_MESSAGE)
    return stats


def _checked_chunk_statistics(covariance_type, params, X, w, n_features, n_threads, name,
                              shift=None, missing=False):
    X, w = _checked_chunk(X, w, n_features, name, missing)
    return _chunk_statistics(covariance_type, params, X, w, n_threads, shift, missing)


def _add(a, b):
    return a + b


# Per-row methods of a fitted estimator that map over a dask array's row
# chunks: name -> (output dtype, None for a float dtype like X's; output
# columns, None for a 1-D output, or the attribute holding their number).
_ROW_METHODS = {
    "score_samples": (None, None),
    "predict_proba": (None, "n_components"),
    "predict": (np.int64, None),
}


def map_dask_rows(estimator, method_name, X):
    """estimator.<method_name> applied lazily to each row chunk of the dask
    array X: a dask array (n_samples,) or (n_samples, n_columns) computed on
    X's scheduler. Raises NotFittedError at once, before any graph is built."""
    estimator._check_is_fitted()
    dtype, columns = _ROW_METHODS[method_name]
    dtype = fit_dtype(X.dtype) if dtype is None else dtype
    method = getattr(estimator, method_name)
    n_columns = None if columns is None else getattr(estimator, columns)
    empty = (0,) if columns is None else (0, n_columns)

    def on_rows(block):  # an empty chunk of a dask array is no error
        return method(block) if block.shape[0] else np.empty(empty, dtype=dtype)
    X = X.rechunk({1: -1})  # whole rows in every chunk
    if columns is None:
        return X.map_blocks(on_rows, drop_axis=1, dtype=dtype)
    return X.map_blocks(on_rows, chunks=(X.chunks[0], (n_columns,)), dtype=dtype)
