"""Where the rows come from: data in memory, data read chunk by chunk
(np.memmap files, h5py/zarr-like arrays, callables yielding chunks) and
Dask arrays. Every source computes the statistics of all its rows under a
model in one pass (EM's E-step), so the EM loop in cem/_gmm.py is the same
for all of them; chunked and Dask sources add per-chunk statistics, which is
exact because statistics add.
"""
import numpy as np

from cem import _core
from cem._validation import CHUNK_ROWS, check_dense, check_sample_weight, check_X

# Rows an initialisation draws from data that is not in memory.
INIT_SAMPLE_ROWS = 100_000


def _is_dask_array(X):
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


def data_source(X, sample_weight, name):
    """The source for fit's X: Dask, chunked, a callable of chunks, or memory."""
    check_dense(X)  # a sparse matrix would pass for a chunked array below
    if _is_dask_array(X):
        return DaskSource(X, sample_weight, name)
    if callable(X) and not hasattr(X, "shape"):
        if sample_weight is not None:
            raise ValueError("with a chunk source, yield (X_chunk, weight_chunk) pairs "
                             "instead of passing sample_weight")
        return ChunkSource(X, name)
    if _is_chunked_array(X):
        return ChunkedArraySource(X, sample_weight, name)
    return InMemorySource(X, sample_weight, name)


def _chunk_statistics(covariance_type, params, X, sample_weight, n_threads):
    weights, means, prec_chol = params
    return _core.e_step(covariance_type, weights, means, prec_chol, X, sample_weight,
                        n_threads=n_threads)


class InMemorySource:
    """An in-memory array: one parallel pass per E-step, no copy of X."""

    def __init__(self, X, sample_weight, name):
        self.X = check_X(X, min_samples=2, name=name)
        self.sample_weight = check_sample_weight(sample_weight, self.X.shape[0])
        self.n_rows, self.n_features = self.X.shape
        self.dtype = self.X.dtype

    def init_sample(self, rng, max_rows):
        return self.X, self.sample_weight  # all of it: the same draws as scikit-learn

    def statistics(self, covariance_type, params, n_threads):
        return _chunk_statistics(covariance_type, params, self.X, self.sample_weight, n_threads)


class _ChunkedSource:
    """Rows in chunks, each validated as it is read; statistics added in
    chunk order."""
    name = "GMM"

    def statistics(self, covariance_type, params, n_threads):
        total = None
        for X, w in self.chunks():
            stats = _chunk_statistics(covariance_type, params, X, w, n_threads)
            total = stats if total is None else total + stats
        if total is None:
            raise ValueError("the data source yielded no rows")
        return total

    def _checked(self, X, w):
        X = check_X(X, n_features=self.n_features, name=self.name)
        return X, check_sample_weight(w, X.shape[0]) if w is not None else None


class ChunkedArraySource(_ChunkedSource):
    """A 2-D array-like read CHUNK_ROWS rows at a time. An np.memmap is read
    from its file with plain reads, so its pages never pile up in this
    process's resident memory; other array-likes (h5py, zarr) are sliced."""

    def __init__(self, X, sample_weight, name):
        self.X, self.name = X, name
        self.n_rows, self.n_features = (int(s) for s in X.shape)
        self.dtype = np.dtype(X.dtype)
        if self.n_rows < 2:
            raise ValueError(f"Found array with {self.n_rows} sample(s) while a minimum of 2 "
                             f"is required by {name}.")
        self.sample_weight = check_sample_weight(sample_weight, self.n_rows)
        self._file = None
        if isinstance(X, np.memmap) and X.flags.c_contiguous and getattr(X, "filename", None):
            self._file = (X.filename, X.offset, X.dtype)

    def _rows(self, start, stop):
        if self._file is not None:
            filename, offset, dtype = self._file
            with open(filename, "rb") as f:
                f.seek(offset + start * self.n_features * dtype.itemsize)
                count = (stop - start) * self.n_features
                block = np.fromfile(f, dtype=dtype, count=count)
            return block.reshape(stop - start, self.n_features)
        return np.asarray(self.X[start:stop])

    def chunks(self):
        for start in range(0, self.n_rows, CHUNK_ROWS):
            stop = min(start + CHUNK_ROWS, self.n_rows)
            w = None if self.sample_weight is None else self.sample_weight[start:stop]
            yield self._checked(self._rows(start, stop), w)

    def init_sample(self, rng, max_rows):
        """A uniform sample of at most max_rows rows, read chunk by chunk so
        memory stays bounded however the rows are spread."""
        if self.n_rows <= max_rows:
            rows = np.arange(self.n_rows)
        else:
            rows = np.sort(rng.choice(self.n_rows, size=max_rows, replace=False))
        parts = []
        for start in range(0, self.n_rows, CHUNK_ROWS):
            stop = min(start + CHUNK_ROWS, self.n_rows)
            inside = rows[(rows >= start) & (rows < stop)]
            if len(inside):
                parts.append(np.asarray(self._rows(start, stop))[inside - start])
        X = check_X(np.concatenate(parts), min_samples=2, name=self.name)
        w = None if self.sample_weight is None else self.sample_weight[rows]
        return X, w


class ChunkSource(_ChunkedSource):
    """A callable returning a fresh iterator of chunks (arrays, or
    (X_chunk, weight_chunk) pairs) on every call: data that only streams."""

    def __init__(self, make_chunks, name):
        self.make_chunks, self.name = make_chunks, name
        first = next(iter(self._raw()), None)
        if first is None:
            raise ValueError("the chunk source yielded no chunks")
        X0 = check_X(first[0], name=name)
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
                j = rng.integers(0, t + 1)
                keep = j < max_rows
                sample[j[keep]], weights[j[keep]] = X[take:][keep], w[take:][keep]
            seen += m
        n = min(seen, max_rows)
        if n < 2:
            raise ValueError("the chunk source holds fewer than 2 rows")
        self.n_rows = seen
        return sample[:n], weights[:n]


class DaskSource:
    """A dask.array: each E-step maps the C pass over the row chunks (on the
    default scheduler or a distributed.Client), adds the statistics in a
    tree on the workers, and brings one statistics array to the client."""

    def __init__(self, X, sample_weight, name):
        import dask.array as da
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
        if self.n_rows <= max_rows:
            rows = np.arange(self.n_rows)
        else:
            rows = np.sort(rng.choice(self.n_rows, size=max_rows, replace=False))
        X = check_X(self.X[rows].compute(), min_samples=2, name=self.name)
        w = None if self.sample_weight is None else check_sample_weight(
            self.sample_weight[rows].compute(), len(rows))
        return X, w

    def statistics(self, covariance_type, params, n_threads):
        import dask
        blocks = self.X.to_delayed().ravel()
        weights = ([None] * len(blocks) if self.sample_weight is None
                   else list(self.sample_weight.to_delayed().ravel()))
        task = dask.delayed(_checked_chunk_statistics, pure=True)
        parts = [task(covariance_type, params, b, w, self.n_features, n_threads, self.name)
                 for b, w in zip(blocks, weights)]
        add = dask.delayed(_add, pure=True)
        while len(parts) > 1:  # a balanced tree, pairs in chunk order
            parts = [add(parts[i], parts[i + 1]) if i + 1 < len(parts) else parts[i]
                     for i in range(0, len(parts), 2)]
        return dask.compute(parts[0])[0]


def _checked_chunk_statistics(covariance_type, params, X, w, n_features, n_threads, name):
    X = check_X(X, n_features=n_features, name=name)
    w = None if w is None else check_sample_weight(w, X.shape[0])
    return _chunk_statistics(covariance_type, params, X, w, n_threads)


def _add(a, b):
    return a + b
