"""Build the downstream example against the installed cem:
    python setup.py build_ext --inplace"""
import os
import sys

import cem
from Cython.Build import cythonize
from setuptools import Extension, setup

openmp = [] if sys.platform == "darwin" else (["/openmp"] if os.name == "nt" else ["-fopenmp"])
extension = Extension(
    "batch_fit",
    ["batch_fit.pyx"],
    include_dirs=[cem.get_include()],
    library_dirs=cem.get_library_dirs(),
    libraries=cem.get_libraries() + ([] if os.name == "nt" else ["m"]),
    extra_compile_args=openmp,
    extra_link_args=[] if os.name == "nt" else openmp,
)
# where `from cem.core cimport ...` finds cem/core.pxd (also found through
# sys.path for a regular install; editable installs need it spelled out)
package_parent = os.path.dirname(os.path.dirname(os.path.abspath(cem.__file__)))
setup(name="batch_fit",
      ext_modules=cythonize([extension], language_level=3, include_path=[package_parent]))
