"""cem's version, the one place it is written: pyproject.toml reads it at
build time (setuptools' dynamic version) and ``cem.__version__`` imports it,
so an installed wheel and an in-place build agree."""
__version__ = "0.2.0"
