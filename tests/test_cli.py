"""The ``skneural`` command: fit / predict / attack on files, its one-line errors and
exit codes, and the demo end to end."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from skneural._pipeline_file import load_fit
from skneural.cli import main


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 240
    frame = pd.DataFrame(
        {
            "height": rng.normal(170, 10, n),
            "weight": rng.normal(70, 15, n),
            "city": rng.choice(["oslo", "lima", "pune"], n),
        }
    )
    score = (frame.height - 170) / 10 + (frame.weight - 70) / 15 + (frame.city == "lima") * 1.5
    frame["label"] = np.where(score > 0.5, "tall", "short")
    frame["price"] = 3 * frame.height + frame.weight + rng.normal(0, 1, n)
    folder = tmp_path_factory.mktemp("data")
    path = folder / "people.csv"
    frame.to_csv(path, index=False)
    return folder, path, frame


def _run(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_fit_predict_attack_round_trip(table, capsys):
    folder, data, frame = table
    model = folder / "clf.zip"
    status, out, _ = _run(
        capsys, "fit", data, "--target", "label", "--cv", "2", "--out", model,
        "--param", "hidden_layer_sizes=(16,)", "--param", "max_iter=60",
        "--param", "random_state=0", "--param", "activation=tanh",
    )  # fmt: skip
    assert status == 0
    assert "MLPClassifierX on 240 rows" in out and "2-fold CV accuracy:" in out
    pipeline, target = load_fit(model)
    assert target == "label"
    assert pipeline.get_params()["activation"] == "tanh"
    assert pipeline.get_params()["input_scaling"] == "standard"  # the command's default
    assert pipeline.score(frame.drop(columns=["label"]), frame["label"]) > 0.8

    predictions = folder / "predictions.csv"
    status, out, _ = _run(capsys, "predict", model, data, "--out", predictions)
    assert status == 0 and "wrote 240 predictions" in out
    written = pd.read_csv(predictions)
    expected = pipeline.predict(frame.drop(columns=["label"]))
    assert list(written["prediction"]) == list(expected)
    assert_allclose(written[["proba_short", "proba_tall"]].sum(axis=1), 1.0)

    status, out, _ = _run(capsys, "attack", model, data, "--target", "label", "--eps", "2", "5")
    assert status == 0
    rows = [line.split() for line in out.splitlines()[2:]]
    assert [float(r[0]) for r in rows] == [0.0, 2.0, 5.0]
    accuracies = [float(r[1]) for r in rows]
    assert accuracies[0] > 0.8 and accuracies[2] < accuracies[0]


def test_fit_infers_regression_and_drops_other_targets(table, capsys):
    folder, data, frame = table
    model = folder / "reg.zip"
    status, out, _ = _run(
        capsys, "fit", data, "--target", "price", "--out", model, "--param", "max_iter=5",
    )  # fmt: skip
    assert status == 0 and "MLPRegressorX" in out
    model, _ = load_fit(model)
    assert set(model.feature_names_in_) == {"height", "weight", "city", "label"}
    assert "city" in model.feature_names_in_[list(model._network.table.categorical)]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["fit", "missing.csv", "--target", "y", "--out", "m"], "no such file: missing.csv"),
        (["fit", "{data}", "--target", "age", "--out", "m"], "column 'age' not found"),
        (["fit", "{data}", "--target", "label", "--param", "depth=3", "--out", "m"],
         "unknown parameter\\(s\\) for MLPClassifierX: depth"),
        (["fit", "{data}", "--target", "label", "--param", "alpha=-1", "--out", "m"],
         "The 'alpha' parameter of MLPClassifierX must be"),
        (["fit", "{data}", "--target", "label", "--param", "alpha", "--out", "m"],
         "--param takes NAME=VALUE"),
        (["predict", "{data}", "{data}", "--out", "p.csv"], "not a usable .skneural fit. model"),
        (["predict", "nothing.zip", "{data}", "--out", "p.csv"], "no such file: nothing.zip"),
        (["attack", "{model}", "{data}", "--target", "nope", "--eps", "1"],
         "column 'nope' not found"),
        (["attack", "{model}", "{data}", "--target", "label", "--eps", "-1"],
         "eps must be a number >= 0"),
    ],
)  # fmt: skip
def test_errors_print_one_line_and_exit_1(table, capsys, argv, message):
    folder, data, _ = table
    model = folder / "tiny.zip"
    if not model.exists():
        main(["fit", str(data), "--target", "label", "--param", "max_iter=2", "--out", str(model)])
        capsys.readouterr()
    argv = [a.format(data=data, model=model) for a in argv]
    status, out, err = _run(capsys, *argv)
    assert status == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("skneural: error: ")
    assert pytest.importorskip("re").search(message, lines[0])


def test_wrong_columns_at_predict(table, capsys, tmp_path):
    folder, data, frame = table
    model = folder / "cols.zip"
    main(["fit", str(data), "--target", "label", "--param", "max_iter=2", "--out", str(model)])
    other = tmp_path / "other.csv"
    frame.drop(columns=["city"]).to_csv(other, index=False)
    capsys.readouterr()
    status, _, err = _run(capsys, "predict", model, other, "--out", tmp_path / "p.csv")
    assert status == 1 and "lacks the model's column(s): city" in err


def test_usage_errors_and_help_from_the_console_script():
    help_run = subprocess.run(
        [sys.executable, "-m", "skneural.cli", "fit", "--help"], capture_output=True, text=True
    )
    assert help_run.returncode == 0 and "--target" in help_run.stdout
    for command in ("demo", "predict", "attack"):
        run = subprocess.run(
            [sys.executable, "-m", "skneural.cli", command, "--help"], capture_output=True
        )
        assert run.returncode == 0
    usage = subprocess.run(
        [sys.executable, "-m", "skneural.cli", "fit"], capture_output=True, text=True
    )
    assert usage.returncode == 2 and "the following arguments are required" in usage.stderr


@pytest.mark.slow
def test_demo_runs_to_completion(tmp_path, capsys):
    status, out, _ = _run(capsys, "demo", "--quick", "--out", tmp_path / "demo")
    assert status == 0 and "report and plots written to" in out
    report = (tmp_path / "demo" / "report.md").read_text()
    for section in ("Grid search", "Cross-validation", "Learning curves", "Vanishing", "XOR"):
        assert section in report
    for png in ("learning_curves", "gradient_norms", "decision_boundary", "robustness"):
        assert (tmp_path / "demo" / f"{png}.png").stat().st_size > 10_000
