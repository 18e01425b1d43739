"""A short budgeted run of the C API fuzz target (tests/fuzz/fuzz_core.c)
under AddressSanitizer + UndefinedBehaviorSanitizer, through the standalone
driver (tests/fuzz/driver.c): replays the seed corpus, then ~20 s of random
and mutated inputs. Longer runs: the same binary with -t SECONDS, or
libFuzzer: clang -fsanitize=fuzzer,address,undefined fuzz_core.c src_c/*.c."""
import os
import shutil
import subprocess
import sysconfig

import pytest

import cem

HERE = os.path.dirname(os.path.abspath(__file__))
FUZZ = os.path.join(HERE, "fuzz")
SOURCES = os.path.join(os.path.dirname(HERE), "src_c")
CC = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()[0]
BUDGET_SECONDS = 20


@pytest.mark.c_sources
@pytest.mark.skipif(shutil.which(CC) is None or os.name == "nt", reason="no C compiler")
@pytest.mark.skipif(not os.path.isdir(SOURCES), reason="needs the source checkout")
def test_fuzz_target_finds_nothing(tmp_path):
    binary = tmp_path / "fuzz_core"
    sources = [os.path.join(FUZZ, "fuzz_core.c"), os.path.join(FUZZ, "driver.c")] + sorted(
        os.path.join(SOURCES, f) for f in os.listdir(SOURCES) if f.endswith(".c"))
    cmd = [CC, "-std=c99", "-O1", "-g", "-D_DEFAULT_SOURCE", "-Wall", "-Wextra", "-Werror",
           "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
           "-fno-omit-frame-pointer", *sources, "-I", cem.get_include(), "-I", SOURCES,
           "-lm", "-o", str(binary)]
    try:
        subprocess.run(cmd, check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"the compiler cannot build with sanitizers: {exc.stderr[:200]}")
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    out = subprocess.run([str(binary), "-t", str(BUDGET_SECONDS), os.path.join(FUZZ, "corpus")],
                         capture_output=True, text=True, env=env, cwd=tmp_path,
                         timeout=BUDGET_SECONDS + 120)
    crash = tmp_path / "crash-input"
    assert out.returncode == 0, (out.stderr[-3000:], crash.read_bytes().hex() if crash.exists()
                                 else None)
    assert "no failure" in out.stdout
    replayed, generated = [int(w) for w in out.stdout.split() if w.isdigit()][:2]
    assert replayed == len(os.listdir(os.path.join(FUZZ, "corpus"))) and generated > 1000
