"""Build cem's extension: the C core (src_c/) and its Cython wrapper.

The extension is built with OpenMP; a compiler without it stops the build
with a message, unless CEM_OPENMP=0 asks for a serial extension on purpose
(same results: partitions, not threads, fix the order of every sum).
"""
import os
import sys
import tempfile
from glob import glob

import setuptools

# pyproject.toml's SPDX `license` and `license-files` need setuptools 77; an
# older one fails on them with a schema dump instead of saying so.
if int(setuptools.__version__.split(".")[0]) < 77:
    sys.exit(f"cem needs setuptools>=77 to build (found {setuptools.__version__}): "
             "python -m pip install --upgrade 'setuptools>=77'")

from Cython.Build import cythonize  # noqa: E402
from setuptools import Extension, setup  # noqa: E402
from setuptools.command.build_ext import build_ext  # noqa: E402

C_SOURCES = sorted(glob(os.path.join("src_c", "*.c")))
# Headers and the kernel template the sources include: an edit to any of them
# rebuilds the extension (setuptools compares their times with the output's).
C_DEPENDS = sorted(glob(os.path.join("src_c", "*.h")) + glob(os.path.join("src_c", "*.inc"))
                   + [os.path.join("cem", "include", "cem.h")])
NO_OPENMP = """cem: the C compiler ({compiler}) cannot build and link an OpenMP program
with {flags}. Install OpenMP support (GCC's libgomp; on macOS `brew install libomp` and
CFLAGS=-I$(brew --prefix libomp)/include LDFLAGS=-L$(brew --prefix libomp)/lib), or set
CEM_OPENMP=0 to build a serial extension on purpose (same results, one thread)."""


def openmp_flags(compiler):
    """(compile, link) flags for OpenMP with this compiler, or None."""
    if compiler.compiler_type == "msvc":
        return ["/openmp"], []
    if sys.platform == "darwin":  # Apple clang: the driver needs libomp spelled out
        return ["-Xpreprocessor", "-fopenmp"], ["-lomp"]
    return ["-fopenmp"], ["-fopenmp"]


def compiles_with(compiler, compile_flags, link_flags):
    """True if a small OpenMP program compiles and links with these flags."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "omp_probe.c")
        with open(src, "w") as f:
            f.write("#include <omp.h>\nint main(void) { return omp_get_max_threads() < 1; }\n")
        try:
            objs = compiler.compile([src], output_dir=tmp, extra_postargs=compile_flags)
            compiler.link_executable(objs, os.path.join(tmp, "omp_probe"),
                                     extra_postargs=link_flags)
        except Exception:
            return False
    return True


class BuildExt(build_ext):
    """Builds the extension, then the static library libcem.a (cem.lib with
    MSVC) from the same C sources, without OpenMP, into cem/lib/ of the
    package, for downstream C and Cython code (see cem.get_library_dirs)."""

    def run(self):
        super().run()
        self.build_static_library()

    def build_static_library(self):
        package_dir = os.path.join("cem" if self.inplace else os.path.join(self.build_lib, "cem"))
        objects = self.compiler.compile(
            C_SOURCES, output_dir=os.path.join(self.build_temp, "libcem"),
            include_dirs=["cem/include", "src_c"], extra_postargs=self.optimisation_flags())
        self.compiler.create_static_lib(objects, "cem", output_dir=os.path.join(package_dir, "lib"))

    def optimisation_flags(self):
        # -fno-trapping-math lets the compiler turn the clamps of the vector
        # exp into blends (we never read FP exception flags); -fno-math-errno
        # lets sqrt inline. Neither changes a result: no reassociation.
        return (["/O2"] if self.compiler.compiler_type == "msvc"
                else ["-O3", "-fno-trapping-math", "-fno-math-errno"])

    def build_extensions(self):
        flags = None
        if os.environ.get("CEM_OPENMP", "1") != "0":
            flags = openmp_flags(self.compiler)
            if not compiles_with(self.compiler, *flags):
                sys.exit(NO_OPENMP.format(compiler=self.compiler.compiler_type,
                                          flags=" ".join(dict.fromkeys(flags[0] + flags[1]))))
        if flags is None:  # keep serial objects apart: never link them into an OpenMP build
            self.build_temp = self.build_temp + "-serial"
        opt = self.optimisation_flags()
        for ext in self.extensions:
            ext.extra_compile_args = opt + (flags[0] if flags else [])
            ext.extra_link_args = flags[1] if flags else []
        super().build_extensions()


extension = Extension(
    "cem._core",
    sources=["cem/_core.pyx"] + C_SOURCES,
    include_dirs=["cem/include", "src_c"],
    depends=C_DEPENDS,
)

setup(
    ext_modules=cythonize([extension], language_level=3),
    cmdclass={"build_ext": BuildExt},
)
