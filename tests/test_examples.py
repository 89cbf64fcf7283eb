"""The scripts in examples/ run, and the course demonstrations show what they claim.

Each script's ``main(quick=True)`` runs its demonstration on less data or fewer epochs
and returns what it measured; these tests assert the effect the script teaches.
"""

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from skneural._training import BLOW_UP

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str) -> dict:
    """Load ``examples/<name>.py`` by path (examples/ is not a package) and run it."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(quick=True)


def test_xor_needs_a_hidden_layer():
    results = run_example("xor")
    # No line separates XOR: a model without hidden layers gets at most 3 of 4 points.
    assert max(results["linear_accuracy"]) <= 0.75
    assert results["hidden_accuracy"] == [1.0] * len(results["hidden_accuracy"])
    assert results["cloud_linear_accuracy"] < 0.65
    assert results["cloud_hidden_accuracy"] > 0.9


def test_vanishing_gradients():
    results = run_example("vanishing_gradients")
    sigmoid, relu = results["sigmoid, Glorot"], results["ReLU, He"]
    assert sigmoid["ratio"] < 1e-3
    assert sigmoid["vanishing_warning"]
    assert relu["ratio"] > 1e-2
    assert not relu["vanishing_warning"]


def test_dropout_narrows_the_generalization_gap():
    results = run_example("dropout")
    without, with_ = results["without"], results["with"]
    assert without["mean_gap"] > 0.2  # the network does overfit without dropout
    assert with_["mean_gap"] < without["mean_gap"]


def test_early_stopping_stops_and_restores_the_best_epoch():
    results = run_example("early_stopping")
    scores = results["validation_scores"]
    assert results["n_iter"] < results["max_iter"]
    assert len(scores) == results["n_iter"]
    assert results["best_epoch"] < results["n_iter"]
    assert results["best_validation_score"] == max(scores)
    # Val loss rises after its minimum: the network has started to overfit.
    assert results["val_loss"][-1] > min(results["val_loss"])
    # The weights kept are those of a run stopped by hand at the best epoch.
    assert results["restore_difference"] < 1e-9
    assert results["full_n_iter"] == results["max_iter"]
    assert results["full_train_accuracy"] == 1.0
    assert results["early_test_log_loss"] < results["full_test_log_loss"]


def test_learning_rate_too_small_good_and_diverging():
    results = run_example("learning_rate")
    small, good, large = (results["rates"][k] for k in ("too small", "good", "too large"))
    for r in (small, good):
        assert r["n_iter"] == results["epochs"]
        assert not r["divergence_warnings"]
    assert good["loss_curve"][-1] < 0.75 * small["loss_curve"][-1]

    assert len(large["divergence_warnings"]) == 1
    epoch = len(large["history_loss"])
    assert large["divergence_warnings"][0].startswith(f"Training diverged in epoch {epoch}")
    # The diverged epoch's loss exploded (skneural._training.BLOW_UP) and was not kept.
    assert large["history_loss"][-1] > BLOW_UP * large["history_loss"][0]
    assert large["n_iter"] == epoch - 1 == len(large["loss_curve"])
    assert np.isfinite(large["loss_curve"]).all()
    assert large["predictions_finite"]


def test_cosine_schedule_with_warmup_follows_its_formula():
    results = run_example("learning_rate")
    schedule = results["schedule"]
    lr0, warmup, n_epochs = (
        schedule["learning_rate_init"],
        schedule["warmup_epochs"],
        schedule["max_iter"],
    )
    expected = [
        lr0 * (e + 1) / (warmup + 1)
        if e < warmup
        else lr0 * (1 + np.cos(np.pi * (e - warmup) / (n_epochs - warmup))) / 2
        for e in range(n_epochs)
    ]
    np.testing.assert_allclose(results["schedule_rates"], expected, rtol=1e-12)


def test_zero_initialization_leaves_units_identical():
    results = run_example("symmetry")
    zeros, glorot = results["zeros"], results["glorot_uniform"]
    assert zeros["all_columns_equal"]
    assert zeros["kernel_max_abs"] > 0.1  # the units did learn, in lockstep
    assert zeros["symmetry_warning"]
    assert glorot["unit_spread"] > 0.1
    assert not glorot["symmetry_warning"]
    assert glorot["test_accuracy"] > zeros["test_accuracy"] + 0.3


@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.py")))
def test_example_starts_with_a_docstring_saying_how_to_run_it(name):
    source = (EXAMPLES / f"{name}.py").read_text()
    assert source.startswith('"""')
    assert f"python examples/{name}.py" in source


def test_pandas_pipeline_tunes_and_beats_the_majority_guess():
    result = run_example("pandas_pipeline")
    assert result["test_accuracy"] > result["majority_rate"] + 0.1
    assert set(result["best_params"]) == {
        "mlp__hidden_layer_sizes", "mlp__alpha", "mlp__dropout",
    }  # fmt: skip


def test_adversarial_training_helps_and_the_search_picks_it():
    result = run_example("adversarial")
    assert result["max_change"] == pytest.approx(0.25)
    assert result["normal"][2] < 0.5 * result["normal"][0]  # FGSM at 0.25 collapses it
    assert all(r >= n for r, n in zip(result["robust"][1:], result["normal"][1:], strict=True))
    assert result["robust"][2] > result["normal"][2] + 0.2
    assert result["picked_eps"] == 0.3


@pytest.mark.slow
def test_quickstart_runs():
    # The README's first page, run as a user would run it.
    run = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py")], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "MLPClassifierX: 3-fold CV accuracy" in run.stdout
    assert "test accuracy" in run.stdout
