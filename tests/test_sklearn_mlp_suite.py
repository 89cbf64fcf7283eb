"""scikit-learn's own MLP tests, run on skneural's estimators.

The installed scikit-learn's ``sklearn/neural_network/tests/test_mlp.py`` (found from
``sklearn.__file__``, never a copy kept here) is copied into a temporary folder, its
``from sklearn.neural_network import MLPClassifier, MLPRegressor`` is replaced by
skneural's ``MLPClassifierX`` / ``MLPRegressorX`` under the same names, and pytest runs
it in a subprocess (no xdist, junit-xml report). A user who swaps the class should find
nothing broken, so every test must pass except those in ``EXPECTED_FAILURES``, and
each of those must fail with the message its reason predicts: a test that starts to
pass, or fails for another reason, fails this test, so the list can only shrink.

``EXPECTED_FAILURES`` is keyed by pytest node name: an exact name with its
parameters (``test_x[MLPClassifierX]``) covers that case only; a bare function name
covers all of its parametrizations. Two kinds of entries are allowed:

* tests that read or call scikit-learn's private implementation (``_optimizer``,
  ``_no_improvement_count``, ``_loss_grad_lbfgs``), which a Keras network does not
  have;
* the deliberate differences listed in docs/estimators.md ("Where skneural differs,
  and why").

Runtime: the subprocess takes about 40 s on 2 idle cores, 80 s with the rest of the
suite running beside it (one process: scikit-learn's file fits a few hundred small networks;
more workers would only add TensorFlow start-ups on 2 cores).
"""

import ast
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import sklearn

import skneural

PRIVATE = "reads scikit-learn's private implementation"

#: node name -> (reason, pattern the failure message must match)
EXPECTED_FAILURES = {
    "test_gradient": (
        f"{PRIVATE}: calls MLPClassifier._loss_grad_lbfgs (its numpy backpropagation)",
        r"has no attribute '_loss_grad_lbfgs'",
    ),
    "test_learning_rate_warmstart": (
        f"{PRIVATE}: reads the learning rate from MLPClassifier._optimizer",
        r"has no attribute '_optimizer'",
    ),
    "test_adaptive_learning_rate": (
        f"{PRIVATE}: reads the learning rate from MLPClassifier._optimizer (its public "
        "assertion on n_iter_, checked first, passes)",
        r"has no attribute '_optimizer'",
    ),
    "test_n_iter_no_change": (
        f"{PRIVATE}: reads the counter MLPClassifier._no_improvement_count",
        r"has no attribute '_no_improvement_count'",
    ),
    "test_n_iter_no_change_inf": (
        f"{PRIVATE}: reads the counter MLPClassifier._no_improvement_count (its public "
        "assertion n_iter_ == max_iter, checked first, passes)",
        r"has no attribute '_no_improvement_count'",
    ),
    "test_early_stopping_stratified": (
        "deliberate: an early-stopping split that cannot be stratified (a class with "
        "one sample) is made unstratified instead of raising",
        r"DID NOT RAISE",
    ),
    "test_minimum_input_sample_size": (
        "deliberate: early stopping on data too small to hold out a validation set "
        "warns and trains on all samples instead of raising",
        r"DID NOT RAISE",
    ),
    "test_mlp_partial_fit_after_fit": (
        "deliberate: partial_fit with early_stopping=True trains one epoch and ignores "
        "early stopping (as SGDClassifier.partial_fit) instead of raising",
        r"DID NOT RAISE",
    ),
    "test_preserve_feature_names[MLPClassifierX]": (
        "deliberate: y with a single class is refused (scikit-learn fits a classifier "
        "that can only predict that class); the regressor's case passes",
        r"needs samples of at least 2 classes in y; got 1 class",
    ),
    "test_mlp_diverging_loss": (
        "deliberate: a diverging fit stops, keeps the weights of the last good epoch "
        "(here early stopping's best: the initial ones) and warns; validation_scores_ "
        "holds the kept epochs' scores, so it is empty here instead of ending with nan",
        r"IndexError: list index out of range",
    ),
}

SWAP = "from skneural import MLPClassifierX as MLPClassifier, MLPRegressorX as MLPRegressor"

# scikit-learn's conftest parametrizes global_random_seed; 42 is its default.
CONFTEST = """
import pathlib
import skneural


def pytest_configure(config):
    pathlib.Path(__file__).with_name("skneural_file.txt").write_text(skneural.__file__)


def pytest_generate_tests(metafunc):
    if "global_random_seed" in metafunc.fixturenames:
        metafunc.parametrize("global_random_seed", [42])
"""


def swap_imports(source: str) -> str:
    """``source`` with its import of scikit-learn's MLP estimators replaced by
    skneural's under the same names; a ValueError if there is none to replace, or
    scikit-learn's estimators could still be reached afterwards."""
    lines = source.splitlines(keepends=True)
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module == "sklearn.neural_network":
            names = {alias.name for alias in node.names}
            if names != {"MLPClassifier", "MLPRegressor"}:
                raise ValueError(f"unexpected import from sklearn.neural_network: {names}")
            found.append(node)
    if len(found) != 1:
        raise ValueError(f"expected one import of scikit-learn's MLP, found {len(found)}")
    node = found[0]
    lines[node.lineno - 1 : node.end_lineno] = [SWAP + "\n"]
    swapped = "".join(lines)
    for node in ast.walk(ast.parse(swapped)):
        modules = (
            [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else []
        )
        if any(m.startswith("sklearn.neural_network") for m in modules):
            raise ValueError(f"scikit-learn's MLP is still imported: {ast.unparse(node)}")
    if SWAP not in swapped:
        raise ValueError("the import swap did not happen")
    return swapped


def run_sklearn_suite(folder: Path) -> dict[str, tuple[str, str]]:
    """Run the swapped test_mlp.py in ``folder``; node name -> (outcome, message)."""
    original = Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_mlp.py"
    (folder / "test_mlp.py").write_text(swap_imports(original.read_text()))
    (folder / "conftest.py").write_text(CONFTEST)
    report = folder / "report.xml"
    package_root = str(Path(skneural.__file__).parent.parent)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env["PYTHONPATH"] = package_root + (":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    command = [sys.executable, "-m", "pytest", "test_mlp.py", "-p", "no:cacheprovider"]
    command += ["-p", "no:xdist", "-o", "addopts=", "-q", f"--junit-xml={report}"]
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=900)
    if not report.exists():
        raise RuntimeError(f"pytest wrote no report:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    used = (folder / "skneural_file.txt").read_text()
    if Path(used) != Path(skneural.__file__):
        raise RuntimeError(f"the subprocess imported {used}, not {skneural.__file__}")
    outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = child.tag
                message = (child.get("message") or "") + "\n" + (child.text or "")
        outcomes[case.get("name")] = (outcome, message)
    return outcomes


def expectation(name: str) -> tuple[str, str] | None:
    """The expected failure covering node ``name`` (exact name first)."""
    return EXPECTED_FAILURES.get(name) or EXPECTED_FAILURES.get(name.split("[")[0])


def test_swap_imports_refuses_a_file_it_cannot_swap():
    with pytest.raises(ValueError, match="found 0"):
        swap_imports("from sklearn.linear_model import Ridge\n")
    with pytest.raises(ValueError, match="still imported"):
        swap_imports(
            "from sklearn.neural_network import (\n    MLPClassifier,\n    MLPRegressor,\n)\n"
            "import sklearn.neural_network\n"
        )
    swapped = swap_imports(
        "import numpy\nfrom sklearn.neural_network import (\n    MLPRegressor,\n"
        "    MLPClassifier,\n)\nx = 1\n"
    )
    assert swapped == f"import numpy\n{SWAP}\nx = 1\n"


def verdict(outcomes: dict[str, tuple[str, str]]) -> list[str]:
    """What is wrong with ``outcomes`` against ``EXPECTED_FAILURES``: a test that fails
    unexpectedly, an expected failure that passes or fails for another reason, and an
    entry that names no test."""
    problems = []
    for name, (outcome, message) in sorted(outcomes.items()):
        expected = expectation(name)
        if expected is None and outcome != "passed":
            problems.append(f"{name}: {outcome}\n{message.strip()[-1500:]}")
        elif expected is not None and outcome == "passed":
            problems.append(f"{name}: passes now; remove it from EXPECTED_FAILURES")
        elif expected is not None and (outcome != "failure" or not re.search(expected[1], message)):
            problems.append(
                f"{name}: {outcome}, not the expected failure ({expected[0]}):\n"
                f"{message.strip()[-1500:]}"
            )
    problems += [
        f"{key}: no such test in scikit-learn's test_mlp.py"
        for key in EXPECTED_FAILURES
        if not any(name == key or name.split("[")[0] == key for name in outcomes)
    ]
    return problems


def test_verdict_reports_every_departure_from_the_list():
    # Each pattern is a literal message.
    honest = {name: ("failure", pattern) for name, (_, pattern) in EXPECTED_FAILURES.items()}
    honest["test_alpha"] = ("passed", "")
    assert verdict(honest) == []
    broken = dict(honest)
    broken["test_alpha"] = ("failure", "AssertionError")
    broken["test_gradient"] = ("passed", "")
    broken["test_n_iter_no_change"] = ("failure", "AssertionError: assert 3 == 11")
    broken["test_mlp_partial_fit_after_fit[MLPRegressorX]"] = ("error", "DID NOT RAISE")
    del broken["test_mlp_diverging_loss"]
    found = "\n".join(verdict(broken))
    assert "test_alpha: failure" in found
    assert "test_gradient: passes now" in found
    assert "test_n_iter_no_change: failure, not the expected failure" in found
    assert "MLPRegressorX]: error, not the expected failure" in found
    assert "test_mlp_diverging_loss: no such test" in found


@pytest.mark.slow
def test_sklearn_mlp_tests_pass_on_skneural(tmp_path):
    outcomes = run_sklearn_suite(tmp_path)
    assert len(outcomes) > 50
    assert "test_early_stopping[MLPClassifierX]" in outcomes, "the swap did not take effect"
    problems = verdict(outcomes)
    assert not problems, "\n\n".join(problems)
