"""The C core as a library for other compiled code: the C tests (plain,
sanitized, under valgrind), a plain C program and a Cython extension built
against the installed package in a temporary directory, and the frozen ABI."""
import os
import re
import shutil
import subprocess
import sys
import sysconfig

import numpy as np
import pytest

import cem

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCES = os.path.join(os.path.dirname(HERE), "src_c")  # only in a source checkout
CC = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
CC = CC.split()[0]
needs_cc = pytest.mark.skipif(shutil.which(CC) is None, reason="no C compiler")
LIBS = ["-lm"] if os.name != "nt" else []


def compile_c(sources, output, extra=()):
    cmd = [CC, "-std=c99", "-O2", "-g", "-Wall", "-Wextra", "-Werror", *sources,
           "-I", cem.get_include(), *extra, "-o", str(output)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return output


def link_installed(source, output):
    lib_dir = cem.get_library_dirs()[0]
    return compile_c([source], output, ["-L", lib_dir, *[f"-l{n}" for n in cem.get_libraries()],
                                        *LIBS])


def run_c_tests(binary, env=None, prefix=()):
    out = subprocess.run([*prefix, str(binary)], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    summary = out.stdout.strip().splitlines()[-1]
    passed, failed = map(int, re.match(r"(\d+) passed, (\d+) failed", summary).groups())
    assert passed > 100 and failed == 0
    return out


def test_static_library_is_installed():
    lib_dir = cem.get_library_dirs()[0]
    names = os.listdir(lib_dir)
    assert "libcem.a" in names or "cem.lib" in names


@needs_cc
def test_c_tests_against_installed_library(tmp_path):
    binary = link_installed(os.path.join(HERE, "c", "test_core.c"), tmp_path / "test_core")
    run_c_tests(binary)


@pytest.mark.c_sources
@needs_cc
@pytest.mark.skipif(not os.path.isdir(SOURCES), reason="needs the source checkout")
@pytest.mark.parametrize("variant", ["baseline", "avx2", "avx512"])
def test_c_tests_under_address_and_undefined_sanitizers(tmp_path, variant):
    """Each block-kernel variant the CPU runs (CEM_KERNELS), sanitized."""
    from cem import _core
    if variant not in _core.kernel_variants():
        pytest.skip(f"no {variant} kernels on this CPU or build")
    sources = [os.path.join(HERE, "c", "test_core.c")] + sorted(
        os.path.join(SOURCES, f) for f in os.listdir(SOURCES) if f.endswith(".c"))
    try:
        binary = compile_c(sources, tmp_path / "test_core_asan",
                           ["-O1", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                            "-fno-omit-frame-pointer", "-I", SOURCES, *LIBS])
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"the compiler cannot build with sanitizers: {exc.stderr[:200]}")
    # Apple's AddressSanitizer has no leak detector and rejects detect_leaks=1
    leaks = "" if sys.platform == "darwin" else "detect_leaks=1:"
    env = dict(os.environ, ASAN_OPTIONS=leaks + "abort_on_error=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1", CEM_KERNELS=variant)
    run_c_tests(binary, env=env)


@pytest.mark.c_sources
@needs_cc
@pytest.mark.skipif(not os.path.isdir(SOURCES), reason="needs the source checkout")
@pytest.mark.parametrize("sanitized", [False, True])
def test_exp_log_within_their_error_bounds(tmp_path, sanitized):
    """tests/c/test_exp_log.c: the E-step's exp and log against long
    double over random points and every table boundary, for each variant the
    CPU runs, and each scalar function bit for bit its vector twin. Built
    with the extension's contraction of a * b + c (GCC's default outside ISO
    mode), plain and under AddressSanitizer + UBSan (fewer points)."""
    extra = ["-ffp-contract=fast", "-I", SOURCES, *LIBS]
    if sanitized:
        extra = ["-O1", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                 "-fno-omit-frame-pointer", *extra]
    try:
        binary = compile_c([os.path.join(HERE, "c", "test_exp_log.c")],
                           tmp_path / "test_exp_log", extra)
    except subprocess.CalledProcessError as exc:
        if not sanitized:
            raise
        pytest.skip(f"the compiler cannot build with sanitizers: {exc.stderr[:200]}")
    env = dict(os.environ, ASAN_OPTIONS="abort_on_error=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    out = subprocess.run([str(binary), "100000" if sanitized else "1000000"],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.strip().splitlines()
    passed, failed = map(int, re.match(r"(\d+) passed, (\d+) failed", lines[-1]).groups())
    assert failed == 0 and passed >= 7
    from cem import _core
    for variant in _core.kernel_variants():  # each one the CPU runs was measured
        assert any(line.startswith(f"{variant}: exp max") for line in lines), out.stdout


@pytest.mark.c_sources
@pytest.mark.skipif(not os.path.isdir(SOURCES), reason="needs the source checkout")
def test_exp_log_tables_are_what_their_script_writes():
    """src_c/exp_log_tables.h is generated: a hand edit, or a script change
    without a rerun, fails here."""
    pytest.importorskip("mpmath")
    script = os.path.join(SOURCES, "tools", "exp_log_tables.py")
    if not os.path.isfile(script):  # an sdist carries the header, not its generator
        pytest.skip("the generator script is not in this tree")
    out = subprocess.run([sys.executable, script, "--check"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


@needs_cc
@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_c_tests_under_valgrind(tmp_path):
    binary = link_installed(os.path.join(HERE, "c", "test_core.c"), tmp_path / "test_core")
    out = run_c_tests(binary, prefix=["valgrind", "--error-exitcode=3", "--leak-check=full",
                                       "--errors-for-leak-kinds=all"])
    assert "ERROR SUMMARY: 0 errors" in out.stderr


@needs_cc
def test_classic_example_as_a_c_program(tmp_path):
    binary = link_installed(os.path.join(HERE, "downstream", "classic.c"), tmp_path / "classic")
    out = subprocess.run([str(binary)], capture_output=True, text=True, check=True).stdout
    values = {line.split()[0]: line.split()[1:] for line in out.splitlines()}
    means = [float(v) for v in values["means"]]
    stds = [float(v) for v in values["std"]]
    weights = [float(v) for v in values["weights"]]
    assert abs(means[0] - 20) < 1 and abs(means[1] - 40) < 1
    assert abs(stds[0] - 5) < 0.5 and abs(stds[1] - 5) < 0.5
    assert abs(weights[0] - 0.3) < 0.03
    assert values["n_iter"][2] == "1"  # converged
    assert float(values["agreement"][0]) > 0.95


@needs_cc
def test_cython_extension_fits_many_small_mixtures(tmp_path):
    pytest.importorskip("Cython")
    build = tmp_path / "cython_batch"
    shutil.copytree(os.path.join(HERE, "downstream", "cython_batch"), build)
    subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=build,
                   check=True, capture_output=True, text=True)
    check = r'''
import json, sys, warnings
import numpy as np
import batch_fit
from cem import GMM
rng = np.random.default_rng(0)
P, m = 10000, 200
X = np.where(rng.random((P, m)) < 0.3, rng.normal(20, 5, (P, m)), rng.normal(40, 5, (P, m)))
mu = np.stack([X.mean(1) - X.std(1), X.mean(1) + X.std(1)], 1)
pc = np.stack([1 / X.std(1)] * 2, 1)
r = batch_fit.fit_many(X, mu, pc, tol=1e-8, max_iter=200)
worst = 0.0
warnings.simplefilter("ignore")
for p in rng.choice(P, 25, replace=False):
    g = GMM(2, tol=1e-8, max_iter=200, weights_init=[0.5, 0.5], means_init=mu[p][:, None],
            precisions_init=(pc[p] ** 2)[:, None, None]).fit(X[p][:, None])
    assert g.n_iter_ == r["n_iter"][p], (p, g.n_iter_, r["n_iter"][p])
    for a, b in ((g.means_.ravel(), r["means"][p]), (g.weights_, r["weights"][p]),
                 (g.covariances_.ravel(), r["variances"][p])):
        worst = max(worst, float(np.max(np.abs(a - b) / np.abs(b))))
    assert abs(g.lower_bound_ - r["lower_bound"][p]) < 1e-12 * abs(g.lower_bound_)
print(json.dumps({"worst": worst, "converged": float(r["converged"].mean())}))
'''
    out = subprocess.run([sys.executable, "-c", check], cwd=build, check=True,
                         capture_output=True, text=True).stdout
    result = __import__("json").loads(out.strip().splitlines()[-1])
    assert result["worst"] < 1e-10
    assert result["converged"] > 0.95


def _signatures(header_text):
    """'return_type name(params)' of every public function, whitespace folded."""
    text = re.sub(r"/\*.*?\*/", "", header_text, flags=re.S)
    text = re.sub(r"#.*", "", text)
    found = re.findall(r"^(\w[\w\s\*]*?\bcem_\w+\s*\([^;{]*\))\s*;", text, flags=re.M)
    return [re.sub(r"\s+", " ", s).replace("( ", "(").replace(" )", ")").strip() for s in found]


def test_public_functions_are_frozen():
    """An ABI change must be a deliberate edit of tests/abi/cem_functions.txt."""
    with open(os.path.join(cem.get_include(), "cem.h")) as f:
        current = _signatures(f.read())
    with open(os.path.join(HERE, "abi", "cem_functions.txt")) as f:
        frozen = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    assert current == frozen
