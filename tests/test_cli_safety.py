"""The command line loses nothing and answers nothing silently wrong: it never writes
over its inputs, finds an unwritable output before training, keeps the previous output
when a write fails, refuses unreadable and tampered files in one line, bounds the
one-hot width, says which task it chose, and prints only its own lines."""

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skneural import _pipeline_file
from skneural._pipeline_file import load_fit
from skneural._table import embedding_dim
from skneural.cli import main

ROOT = Path(__file__).resolve().parents[1]
TENSORFLOW_LOG = re.compile(r"tensorflow|I0000|W0000|E0000|cuda|absl|oneDNN", re.IGNORECASE)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A small CSV and a model fitted on it."""
    folder = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=60), "kind": rng.choice(["a", "b"], 60)})
    frame["label"] = np.where(frame.x > 0, "yes", "no")
    data = folder / "data.csv"
    frame.to_csv(data, index=False)
    model = folder / "model.zip"
    argv = ["fit", data, "--target", "label", "--param", "max_iter=2", "--out", model]
    assert main([str(a) for a in argv]) == 0
    return folder, data, model


def _run(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return status, out, err


def _one_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("skneural: error: "), err
    return lines[0]


# -- nothing lost --------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["same", "dot-slash", "symlink", "hard link"])
@pytest.mark.parametrize("command", ["fit", "predict-model", "predict-data"])
def test_out_that_is_an_input_is_refused_and_the_input_kept(
    files, tmp_path, monkeypatch, capsys, command, spelling
):
    _, data, model = files
    victim = tmp_path / ("model.zip" if command == "predict-model" else "data.csv")
    victim.write_bytes((model if command == "predict-model" else data).read_bytes())
    before = victim.read_bytes()
    monkeypatch.chdir(tmp_path)
    out = {
        "same": str(victim),
        "dot-slash": f"./{victim.name}",
        "symlink": "link",
        "hard link": "hard",
    }[spelling]
    if spelling == "symlink":
        os.symlink(victim, "link")
    if spelling == "hard link":
        os.link(victim, "hard")
    if command == "fit":
        argv = ["fit", victim.name, "--target", "label", "--out", out]
    elif command == "predict-model":
        argv = ["predict", victim.name, str(data), "--out", out]
    else:
        argv = ["predict", str(model), victim.name, "--out", out]
    status, stdout, err = _run(capsys, *argv)
    assert status == 2 and stdout == ""
    assert "writing it would destroy it" in _one_error(err)
    assert victim.read_bytes() == before


@pytest.mark.parametrize("problem", ["missing folder", "directory", "read-only folder", "device"])
def test_unwritable_out_is_found_before_the_fit(files, tmp_path, capsys, problem):
    _, data, _ = files
    if problem == "read-only folder":
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders")
        tmp_path.chmod(0o500)
    out = {
        "missing folder": tmp_path / "nowhere" / "m.zip",
        "directory": tmp_path,
        "read-only folder": tmp_path / "m.zip",
        "device": Path(os.devnull),
    }[problem]
    try:
        status, stdout, err = _run(capsys, "fit", data, "--target", "label", "--out", out)
    finally:
        tmp_path.chmod(0o700)
    assert status == 1 and stdout == ""  # nothing read, nothing trained
    assert f"cannot write --out {out}" in _one_error(err)


def _failing_after_half():
    """``save(estimator, path)`` or ``DataFrame.to_csv(self, path)`` that stops with a
    full disk after writing part of the file."""

    def fail(_, path, *args, **kwargs):
        Path(path).write_bytes(b"half a file")
        raise OSError(28, "No space left on device")

    return fail


def test_a_failed_model_write_keeps_the_previous_model(files, tmp_path, monkeypatch, capsys):
    _, data, _ = files
    out = tmp_path / "model.zip"
    out.write_bytes(b"the previous model")
    monkeypatch.setattr(_pipeline_file, "save", _failing_after_half())
    argv = ["fit", data, "--target", "label", "--param", "max_iter=1", "--out", out]
    status, _, err = _run(capsys, *argv)
    errors = [line for line in err.splitlines() if line.startswith("skneural: error:")]
    assert status == 1 and len(errors) == 1 and "No space left on device" in errors[0]
    assert out.read_bytes() == b"the previous model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.zip"]  # no temporary left


def test_a_failed_prediction_write_keeps_the_previous_file(files, tmp_path, monkeypatch, capsys):
    _, data, model = files
    out = tmp_path / "predictions.csv"
    out.write_bytes(b"previous,predictions\n")
    monkeypatch.setattr(pd.DataFrame, "to_csv", _failing_after_half())
    status, _, err = _run(capsys, "predict", model, data, "--out", out)
    assert status == 1 and "No space left on device" in _one_error(err)
    assert out.read_bytes() == b"previous,predictions\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["predictions.csv"]


# -- no silent wrong answer ----------------------------------------------------------


def test_an_id_column_costs_an_embedding_not_a_column_per_value(tmp_path, capsys):
    rng = np.random.default_rng(1)
    n = 20_000
    frame = pd.DataFrame({"id": [f"user-{i:05d}" for i in rng.permutation(n)]})
    frame["x"] = rng.normal(size=n)
    frame["y"] = (frame.x > 0).astype(int)
    data, model = tmp_path / "ids.csv", tmp_path / "ids.zip"
    frame.to_csv(data, index=False)
    argv = ["fit", data, "--target", "y", "--param", "max_iter=1", "--param", "batch_size=2000"]
    status, out, _ = _run(capsys, *argv, "--out", model)
    assert status == 0
    dim = embedding_dim(n + 2)
    assert f"column 'id': {n} categories, embedded in {dim} values" in out
    estimator, _ = load_fit(model)
    assert estimator.n_features_in_ == 2 and estimator.coefs_[0].shape[0] == 1 + dim


def _parquet_bytes() -> bytes:
    return b"PAR1" + bytes(range(256)) + b"PAR1"


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("data.csv", _parquet_bytes(), "cannot read .*data.csv as CSV: it is a Parquet file"),
        ("data.parquet", b"x,label\n1,a\n", "cannot read .*data.parquet as Parquet: it is text"),
        ("data.csv", b"\x00\x01\x02\xff" * 50, "as CSV: it is binary data"),
        ("data.csv", b"PK\x03\x04" + b"\x00" * 40, "as CSV: it is a zip archive"),
    ],
)
def test_read_errors_name_the_file_and_the_expected_format(
    tmp_path, capsys, name, content, message
):
    data = tmp_path / name
    data.write_bytes(content)
    status, _, err = _run(capsys, "fit", data, "--target", "label", "--out", tmp_path / "m.zip")
    assert status == 1 and re.search(message, _one_error(err))


def test_parquet_without_its_engine_says_what_to_install(tmp_path, monkeypatch, capsys):
    for engine in ("pyarrow", "fastparquet"):
        monkeypatch.setitem(sys.modules, engine, None)  # import fails as if not installed
    data = tmp_path / "data.parquet"
    data.write_bytes(_parquet_bytes())
    status, _, err = _run(capsys, "fit", data, "--target", "label", "--out", tmp_path / "m.zip")
    assert status == 1 and "pip install pyarrow" in _one_error(err)


def _edit_spec(model: Path, target: Path, edit) -> Path:
    with zipfile.ZipFile(model) as archive:
        spec = json.loads(archive.read("pipeline.json"))
        network = archive.read("model.skneural")
    edit(spec)
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("pipeline.json", json.dumps(spec))
        archive.writestr("model.skneural", network)
    return target


_EDITS = {
    "columns not the network's": lambda s: s.update(columns=["kind", "x"]),
    "target a feature": lambda s: s.update(target="x"),
    "foreign format": lambda s: s.update(format="something-else"),
    "the earlier format": lambda s: s.update(format="skneural-pipeline"),
    "another version": lambda s: s.update(version=3),
    "unknown key": lambda s: s.update(code="import os"),
    "columns not a list": lambda s: s.update(columns="ab"),
    # Names equal as text but not as values: a raw KeyError before (issue 14).
    "columns of another type": lambda s: s.update(columns=["x", 1]),
    "a NUL in a column": lambda s: s.update(columns=["x\0", "kind"]),
}


@pytest.mark.parametrize(
    "tamper", [*_EDITS, "truncated", "not json", "foreign zip", "text", "bad network"]
)
def test_a_tampered_model_file_is_refused_in_one_line(files, tmp_path, capsys, tamper):
    _, data, model = files
    bad = tmp_path / "bad.zip"
    if tamper in _EDITS:
        _edit_spec(model, bad, _EDITS[tamper])
    elif tamper == "truncated":
        bad.write_bytes(model.read_bytes()[: model.stat().st_size // 2])
    elif tamper == "not json":
        with zipfile.ZipFile(bad, "w") as archive:
            archive.writestr("pipeline.json", "{not json")
            archive.writestr("model.skneural", b"")
    elif tamper == "bad network":
        with zipfile.ZipFile(model) as archive:
            spec = archive.read("pipeline.json")
        with zipfile.ZipFile(bad, "w") as archive:
            archive.writestr("pipeline.json", spec)
            archive.writestr("model.skneural", b"not a network")
    elif tamper == "foreign zip":
        with zipfile.ZipFile(bad, "w") as archive:
            archive.writestr("word/document.xml", "<xml/>")
    else:
        bad.write_text("hello")
    status, _, err = _run(capsys, "predict", bad, data, "--out", tmp_path / "p.csv")
    assert status == 1
    line = _one_error(err)
    assert f"{bad} is not a usable 'skneural fit' model file" in line
    if tamper == "bad network":
        assert "'model.skneural'" in line and "/tmp" not in line.split("file:")[1]
    assert not (tmp_path / "p.csv").exists()


def test_a_float_01_target_says_which_task_and_how_to_choose_the_other(tmp_path, capsys):
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"x": rng.normal(size=40)})
    frame["y"] = (frame.x > 0).astype(float)
    data = tmp_path / "float.csv"
    frame.to_csv(data, index=False)
    common = [data, "--target", "y", "--param", "max_iter=1", "--out", tmp_path / "m.zip"]
    status, out, _ = _run(capsys, "fit", *common)
    assert status == 0
    assert "task: classification (float64 target with 2 whole values)" in out
    assert "--task regression for the other" in out and "MLPClassifierX" in out
    status, out, _ = _run(capsys, "fit", *common, "--task", "regression")
    assert status == 0 and "task:" not in out and "MLPRegressorX on 40 rows" in out


def test_a_repeated_warning_is_shown_once(files, tmp_path, capsys):
    _, data, _ = files
    argv = ["fit", data, "--target", "label", "--param", "max_iter=1", "--cv", "3"]
    status, _, err = _run(capsys, *argv, "--out", tmp_path / "m.zip")
    assert status == 0
    warned = [line for line in err.splitlines() if "skneural: warning:" in line]
    assert len(warned) == 1 and "Maximum iterations (1) reached" in warned[0]


# -- a fresh process -----------------------------------------------------------------


def _environment() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def test_help_and_import_start_no_tensorflow():
    code = (
        "import sys, skneural, skneural.cli\n"
        "try:\n    skneural.cli.main(['fit', '--help'])\nexcept SystemExit:\n    pass\n"
        "print('tensorflow loaded:', 'tensorflow' in sys.modules)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_environment()
    )
    assert run.returncode == 0 and "--target" in run.stdout
    assert "tensorflow loaded: False" in run.stdout


def test_fit_prints_only_its_own_lines_in_bounded_memory(tmp_path):
    """A fresh process, as a user runs it: no TensorFlow start-up logs, and the
    20,000-value ID column does not densify (the old encoding took 3 GB)."""
    rng = np.random.default_rng(3)
    n = 20_000
    frame = pd.DataFrame({"id": [f"row{i}" for i in range(n)], "x": rng.normal(size=n)})
    frame["label"] = np.where(frame.x > 0, "yes", "no")
    data = tmp_path / "ids.csv"
    frame.to_csv(data, index=False)
    argv = [str(data), "--target", "label", "--param", "max_iter=1", "--out", "m.zip"]
    code = (
        "import resource, sys\nfrom skneural.cli import main\n"
        f"status = main(['fit', *{argv!r}])\n"
        "print('maxrss_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
        "sys.exit(status)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True,
        env=_environment(), cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = (run.stdout + run.stderr).splitlines()
    assert not [line for line in lines if TENSORFLOW_LOG.search(line)]
    assert "saved m.zip" in run.stdout
    rss_kb = int(run.stdout.split("maxrss_kb ")[1].split()[0])
    assert rss_kb < 1_500_000, f"peak RSS {rss_kb / 1e6:.2f} GB"


def test_an_out_with_a_nul_is_refused_in_one_line(files, tmp_path, capsys):
    _, data, _ = files
    status, _, err = _run(capsys, "fit", data, "--target", "label", "--out", "a\0b")
    assert status == 1
    assert "a file name cannot contain a NUL character" in _one_error(err)
