"""The `cem` command line. Tests whose name says `subprocess` start a process
(the Pyodide test run deselects them)."""
import io
import json
import subprocess
import sys

import numpy as np
import pytest

from cem import GMM
from cem._cli import build_parser, demo_data, demo_figure, main


def fit(path, *options):
    return main(["fit", str(path), "-k", "1", *options])


def table(rows, sep=","):
    return "".join(sep.join(map(str, row)) + "\n" for row in rows)


def error_line(capsys):
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


# --- cem demo ------------------------------------------------------------------------------

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


def test_demo_console_script_and_module_run_in_subprocess(tmp_path):
    # run outside the checkout so `-m cem` finds the installed package
    out = subprocess.run([sys.executable, "-m", "cem", "demo", "--seed", "4"], cwd=tmp_path,
                         capture_output=True, text=True, check=True).stdout
    assert "fit time" in out and "converged: True" in out


def _seed_with_components_out_of_order():
    for seed in range(20):
        X, _ = demo_data(seed)
        gmm = GMM(2, init_params="random", tol=1e-8, max_iter=1000, random_state=seed).fit(X)
        if gmm.means_[0, 0] > gmm.means_[1, 0]:
            return seed
    pytest.fail("no seed in 0..19 fits the larger mean as component 0")


def test_demo_plot_numbers_components_as_the_table(tmp_path, capsys):
    """The legend's component i is the table's `fitted i` (increasing mean),
    even when the fit's own order is the reverse; weight and sigma shown."""
    pyplot = pytest.importorskip("matplotlib.pyplot")
    seed = _seed_with_components_out_of_order()
    path = tmp_path / "demo.png"
    assert main(["demo", "--seed", str(seed), "--plot", str(path)]) == 0
    out = capsys.readouterr().out
    assert path.stat().st_size > 10_000
    assert out.strip().splitlines()[-1] == f"plot written to {path}"
    table_rows = {int(l.split()[1].rstrip(":")): [float(v) for v in l.split()[2:]]
                  for l in out.splitlines() if l.startswith("fitted")}

    X, _ = demo_data(seed)
    gmm = GMM(2, init_params="random", tol=1e-8, max_iter=1000, random_state=seed).fit(X)
    order = np.argsort(gmm.means_[:, 0])
    fig = demo_figure(pyplot, X, gmm, order, seed)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    pyplot.close(fig)
    assert "seed" in ax.get_title() and "Gaussian mixture" in ax.get_title()
    components = [l for l in labels if l.startswith("component")]
    assert len(components) == 2
    for i, label in enumerate(components):
        weight, mean, std = table_rows[i]
        assert label == (f"component {i}: weight {weight:.3f}, mean {mean:.2f}, "
                         f"σ {std:.2f}"), (label, table_rows[i])


def test_demo_plot_message_names_the_file_written(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    stem = tmp_path / "fit"
    assert main(["demo", "--plot", str(stem)]) == 0
    assert capsys.readouterr().out.strip().endswith(f"plot written to {stem}.png")
    assert (tmp_path / "fit.png").stat().st_size > 10_000 and not stem.exists()
    assert main(["demo", "--plot", str(tmp_path / "fit.svg")]) == 0
    assert capsys.readouterr().out.strip().endswith(f"plot written to {tmp_path / 'fit.svg'}")
    assert (tmp_path / "fit.svg").read_text().lstrip().startswith("<?xml")
    assert main(["demo", "--plot", str(tmp_path / "fit.docx")]) == 2
    assert ".docx" in error_line(capsys)
    assert main(["demo", "--plot", str(tmp_path / "no" / "dir" / "fit.png")]) == 2
    assert "fit.png" in error_line(capsys)


def test_demo_plot_without_matplotlib_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    assert main(["demo", "--plot", "fit.png"]) == 2
    message = error_line(capsys)
    assert "python -m pip install matplotlib" in message
    assert "cem[" not in message  # PyPI's `cem` is another project


# --- cem fit: output ---------------------------------------------------------------------

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
    assert result.get("feature_names") == (["a", "b"] if suffix == ".csv" else None)


def test_fit_json_is_compact_unless_indented(tmp_path, capsys, rng):
    path = tmp_path / "x.npy"
    np.save(path, rng.normal(size=(50, 2)))
    assert fit(path, "--random-state", "0") == 0
    compact = capsys.readouterr().out
    assert compact.count("\n") == 1 and ", " not in compact and '": ' not in compact
    assert fit(path, "--random-state", "0", "--indent", "2") == 0
    indented = capsys.readouterr().out
    assert indented.count("\n") > 10 and '\n  "weights": ' in indented
    assert json.loads(compact) == json.loads(indented)


def test_fit_labels_and_probabilities(tmp_path, capsys, rng):
    X = np.vstack([rng.normal(0, 1, (100, 2)), rng.normal(6, 1, (150, 2))])
    data, labels = tmp_path / "x.csv", tmp_path / "labels.csv"
    np.savetxt(data, X, delimiter=",")
    options = ["fit", str(data), "-k", "2", "--random-state", "0", "--labels", str(labels)]
    assert main(options) == 0
    capsys.readouterr()
    expected = GMM(2, random_state=0).fit(X)
    lines = labels.read_text().splitlines()
    assert lines[0] == "component" and len(lines) == 1 + len(X)
    np.testing.assert_array_equal([int(l) for l in lines[1:]], expected.predict(X))

    assert main(options + ["--probabilities"]) == 0
    capsys.readouterr()
    lines = labels.read_text().splitlines()
    assert lines[0] == "component,p0,p1" and len(lines) == 1 + len(X)
    rows = np.array([[float(v) for v in l.split(",")] for l in lines[1:]])
    np.testing.assert_array_equal(rows[:, 0], expected.predict(X))
    np.testing.assert_array_equal(rows[:, 1:], expected.predict_proba(X))  # repr round-trips

    assert fit(data, "--probabilities") == 2
    assert "--labels" in error_line(capsys)


def test_fit_reads_standard_input(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"x;y\n1;2\n3;5\n4;4\n")))
    assert main(["fit", "-", "-k", "1"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n_samples"] == 3 and result["feature_names"] == ["x", "y"]


# --- cem fit: every row kept -------------------------------------------------------------

@pytest.mark.parametrize("sep", [",", ";", "\t", "|", " "])
def test_fit_keeps_every_row_whatever_the_delimiter(tmp_path, capsys, sep):
    """A ';'-delimited file used to lose its first row (read as a header)."""
    rows = [[1, 2], [3, 4.5], [5, 6], [7, 9]]
    path = tmp_path / "x.txt"
    path.write_text(table(rows, sep))
    assert fit(path) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n_samples"] == 4 and result["n_features"] == 2
    np.testing.assert_allclose(result["means"][0], np.mean(rows, axis=0))


def test_fit_empty_field_in_the_first_row_is_an_error_not_a_header(tmp_path, capsys):
    """It used to be taken for a header line and dropped."""
    path = tmp_path / "x.csv"
    path.write_text("1,,3\n4,5,6\n7,8,9\n")
    assert fit(path) == 2
    assert error_line(capsys) == (f"cem fit: error: {path}, line 1, column 2: empty field "
                                  "(missing values are not supported)")


def test_fit_header_is_sniffed_or_given(tmp_path, capsys):
    named, plain = tmp_path / "named.csv", tmp_path / "plain.csv"
    named.write_text("height,weight\n1,2\n3,4\n5,7\n")
    plain.write_text("1,2\n3,4\n5,7\n")
    for path, options, n in [(named, [], 3), (named, ["--header"], 3), (plain, [], 3),
                             (plain, ["--no-header"], 3), (plain, ["--header"], 2)]:
        assert fit(path, *options) == 0, (path, options)
        assert json.loads(capsys.readouterr().out)["n_samples"] == n, (path, options)
    assert fit(named, "--no-header") == 2
    assert error_line(capsys) == (f"cem fit: error: {named}, line 1, column 1: 'height' is "
                                  "not a number")
    with pytest.raises(SystemExit) as exc:
        fit(named, "--header", "--no-header")
    assert exc.value.code == 2 and "not allowed with" in capsys.readouterr().err


def test_fit_delimiter_option(tmp_path, capsys):
    path = tmp_path / "x.txt"
    path.write_text("1;2\n3;4\n5;7\n")
    assert fit(path, "--delimiter", ";") == 0
    assert json.loads(capsys.readouterr().out)["n_features"] == 2
    assert fit(path, "--delimiter", ",") == 2  # one column of '1;2': not a number
    assert error_line(capsys).endswith("line 1, column 1: '1;2' is not a number")
    path.write_text("1\t2\n3\t4\n5\t7\n")
    assert fit(path, "--delimiter", "tab") == 0
    assert json.loads(capsys.readouterr().out)["n_features"] == 2
    with pytest.raises(SystemExit) as exc:
        fit(path, "--delimiter", "ab")
    assert exc.value.code == 2 and "one character" in capsys.readouterr().err


# --- cem fit: errors name the file, the line and the column ----------------------------

@pytest.mark.parametrize("text, where", [
    ("a,b\n1,2\n\n3,x\n", "line 4, column 2: 'x' is not a number"),
    ("1,2\n3,4\n\n\n5,6,7\n", "line 5: 3 fields, expected 2 as on line 1 (delimiter: comma)"),
    ("1,2\n3,nan\n", "line 2, column 2: 'nan' is not a finite number"),
    ("1,2\n3,-inf\n", "line 2, column 2: '-inf' is not a finite number"),
    ("1,2\n\n3,\n", "line 3, column 2: empty field (missing values are not supported)"),
    ('1,2\n"3\n4",5\n6,x\n', "line 2, column 1: '3\\n4' is not a number"),
    ("a,b,c\n1,2\n3,4\n", "line 1: the header has 3 names for 2 columns"),
])
def test_fit_errors_name_file_line_and_column(tmp_path, capsys, text, where):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    assert fit(path) == 2
    assert error_line(capsys) == f"cem fit: error: {path}, {where}"


@pytest.mark.parametrize("content, message", [
    (b"", "no data (the file is empty)"),
    (b"\n  \n", "no data (the file is empty)"),
    (b"a,b\n", "no data rows after the header line"),
    (b"1,2\n\xff\xfe,3\n", "not UTF-8 text"),
])
def test_fit_reports_unreadable_files(tmp_path, capsys, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    assert fit(path) == 2
    line = error_line(capsys)
    assert line.startswith(f"cem fit: error: {path}: ") and message in line


def test_fit_reports_bad_input(tmp_path, capsys):
    path = tmp_path / "bad.npy"
    np.save(path, np.array([[1.0, np.nan], [2.0, 3.0]]))
    assert main(["fit", str(path), "-k", "1"]) == 2
    line = error_line(capsys)
    assert str(path) in line and "NaN" in line
    np.save(path, np.zeros((2, 2, 2)))
    assert fit(path) == 2
    assert error_line(capsys) == f"cem fit: error: {path}: expected a 1-D or 2-D array, got " \
                                 "shape (2, 2, 2)"
    assert fit(tmp_path / "missing.csv") == 2
    assert error_line(capsys) == (f"cem fit: error: {tmp_path / 'missing.csv'}: No such file "
                                  "or directory")


# --- one exit status, one-line messages, no tracebacks -----------------------------------

@pytest.mark.parametrize("argv", [
    [], ["fit"], ["fit", "x.csv"], ["fit", "x.csv", "-k", "two"], ["fit", "x.csv", "-k", "0"],
    ["fit", "x.csv", "-k", "2", "--covariance-type", "round"], ["frobnicate"],
    ["demo", "--n-threads", "0"], ["fit", "x.csv", "-k", "1", "--indent", "-1"],
])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err


def test_model_errors_exit_2_with_the_file_named(tmp_path, capsys):
    path = tmp_path / "x.csv"
    path.write_text("1,2\n3,4\n")
    assert main(["fit", str(path), "-k", "5"]) == 2
    line = error_line(capsys)
    assert line.startswith(f"cem fit: error: {path}: ") and "n_components" in line


def test_warnings_are_one_line_without_source(tmp_path, capsys, rng):
    path = tmp_path / "x.npy"
    np.save(path, np.vstack([rng.normal(0, 1, (200, 2)), rng.normal(5, 1, (200, 2))]))
    assert main(["fit", str(path), "-k", "2", "--max-iter", "1", "--random-state", "0"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["converged"] is False
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cem: warning: ") and "converge" in lines[0]
    assert ".py" not in captured.err and "warn(" not in captured.err


@pytest.mark.parametrize("command", [["demo"], ["fit", "{data}", "-k", "2", "--indent", "1"]])
def test_closed_stdout_is_not_an_error_in_subprocess(tmp_path, rng, command):
    """`cem ... | head`: the reader leaves early; no BrokenPipeError on stderr."""
    data = tmp_path / "x.npy"
    np.save(data, rng.normal(size=(100_000, 2)))
    argv = [a.format(data=data) for a in command]
    proc = subprocess.Popen([sys.executable, "-m", "cem", *argv], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with proc:
        proc.stdout.close()  # before cem writes anything
        err = proc.stderr.read().decode()
        proc.wait(timeout=120)
    assert err == ""
    assert proc.returncode == 141


# --- --version, help -------------------------------------------------------------------

def test_version(capsys):
    import cem
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"cem {cem.__version__}\n"


def _subparsers(parser):
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return action.choices


def test_every_option_has_help_with_its_default():
    parser = build_parser()
    for name, sub in _subparsers(parser).items():
        for action in sub._actions:
            if action.dest in ("help",) or not action.option_strings:
                continue
            assert action.help, (name, action.dest)
            if action.required:
                assert "required" in action.help, (name, action.dest)
            else:
                assert "(default: " in action.help, (name, action.dest, action.help)
