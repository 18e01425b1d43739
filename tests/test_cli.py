"""The `cem` command line."""
import json
import subprocess
import sys

import numpy as np
import pytest

from cem.__main__ import main


def test_demo_recovers_the_two_processes(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    fitted = [line.split() for line in out.splitlines() if line.startswith("fitted")]
    means = sorted(float(row[3]) for row in fitted)
    assert abs(means[0] - 20) < 1 and abs(means[1] - 40) < 1
    weights = sorted(float(row[2]) for row in fitted)
    assert abs(weights[0] - 0.3) < 0.02 and abs(weights[1] - 0.7) < 0.02
    first = [l for l in out.splitlines() if "first 100" in l][0].split(":")[1].strip()
    last = [l for l in out.splitlines() if "last 100" in l][0].split(":")[1].strip()
    assert len(first) == len(last) == 100
    assert first.count("0") > 90 and last.count("1") > 90  # process 0 = N(20, 5)


def test_demo_console_script_and_module_run(tmp_path):
    # run outside the checkout so `-m cem` finds the installed package
    out = subprocess.run([sys.executable, "-m", "cem", "demo", "--seed", "4"], cwd=tmp_path,
                         capture_output=True, text=True, check=True).stdout
    assert "fit time" in out and "converged: True" in out


def test_demo_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "demo.png"
    assert main(["demo", "--plot", str(path)]) == 0
    assert path.stat().st_size > 10_000


@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_fit_file_prints_json(tmp_path, capsys, suffix, rng):
    X = np.vstack([rng.normal(0, 1, (200, 2)), rng.normal(8, 1, (200, 2))])
    path = tmp_path / f"data{suffix}"
    if suffix == ".npy":
        np.save(path, X)
    else:
        np.savetxt(path, X, delimiter=",", header="a,b", comments="")
    assert main(["fit", str(path), "-k", "2", "--covariance-type", "diag",
                 "--random-state", "0"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n_samples"] == 400 and result["covariance_type"] == "diag"
    means = sorted(m[0] for m in result["means"])
    assert abs(means[0]) < 0.5 and abs(means[1] - 8) < 0.5


def test_fit_reports_bad_input(tmp_path, capsys):
    path = tmp_path / "bad.npy"
    np.save(path, np.array([[1.0, np.nan], [2.0, 3.0]]))
    assert main(["fit", str(path), "-k", "1"]) == 2
    assert "NaN" in capsys.readouterr().err
