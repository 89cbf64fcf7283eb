"""The ``skneural`` command: a demo, and fit / predict / attack on tabular files.

    skneural demo [--out DIR] [--quick]
    skneural fit DATA --target COL [--task {auto,classification,regression}]
                 [--param NAME=VALUE ...] [--cv K] --out MODEL
    skneural predict MODEL DATA --out FILE
    skneural attack MODEL DATA --target COL --eps EPS [--norm {inf,1,2}]

DATA is a CSV or Parquet file. ``fit`` trains the estimator on the table as it is:
text columns are categories, missing values are filled, and numeric columns are
scaled (``input_scaling='standard'`` unless a ``--param`` says otherwise), all inside
the network (docs/tabular.md); it saves the estimator in a pickle-free file
(``_pipeline_file.py``). Outputs are written in one step
and never over one of the command's inputs. Every error prints one line and exits
with status 2 (usage) or 1 (anything else).

The command owns its process, so it, and only it, quiets TensorFlow's start-up logs
(``TF_CPP_MIN_LOG_LEVEL=3`` unless the user set it) and shows a repeated warning once.
TensorFlow is imported inside the commands that train or predict: ``--help`` and the
checks of the arguments do not wait for it.
"""

import argparse
import ast
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ._quiet import start_tensorflow, warnings_once


class CLIError(Exception):
    """An error reported to the user as one line (exit status 1)."""


class UsageError(CLIError):
    """A command line that asks for something it must not do (exit status 2)."""


# -- arguments -----------------------------------------------------------------------


def _parse_params(pairs: Sequence[str]) -> dict:
    params = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise CLIError(f"--param takes NAME=VALUE, got {pair!r}")
        try:
            params[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            params[name] = text  # a bare word: a string value such as relu
    return params


def _check_output(out: str, inputs: Sequence[str]) -> None:
    """Refuse an ``--out`` that is one of ``inputs`` (under any spelling or link), or
    that cannot be written, before any work is done."""
    if "\0" in out:
        raise CLIError(f"cannot write --out {out!r}: a file name cannot contain a NUL character")
    target = Path(out)
    for name in inputs:
        same = os.path.exists(name) and target.exists() and os.path.samefile(name, out)
        if same or os.path.realpath(name) == os.path.realpath(out):
            raise UsageError(f"--out {out} is the input {name}; writing it would destroy it")
    if target.is_dir():
        raise CLIError(f"cannot write --out {out}: it is a directory")
    if target.exists() and not target.is_file():  # /dev/null would be replaced by a file
        raise CLIError(f"cannot write --out {out}: it is not a regular file")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise CLIError(f"cannot write --out {out}: no such folder {folder}")
    try:  # The only reliable test of writability (ACLs, read-only mounts) is to try.
        fd, probe = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise CLIError(f"cannot write --out {out}: {exc.strerror}") from None
    os.close(fd)
    os.unlink(probe)


def _require_file(path: str) -> None:
    if not Path(path).is_file():
        raise CLIError(f"not a file: {path}" if Path(path).exists() else f"no such file: {path}")


# -- commands ------------------------------------------------------------------------


def cmd_fit(args: argparse.Namespace) -> int:
    from ._tables import choose_task, read_table, split_target

    _check_output(args.out, [args.data])
    params = _parse_params(args.param)
    X, y = split_target(read_table(args.data), args.target)
    if args.task == "auto":
        task, why = choose_task(y)
        other = "regression" if task == "classification" else "classification"
        print(f"task: {task} ({why}); --task {other} for the other")
    else:
        task = args.task
    start_tensorflow()
    from sklearn.model_selection import cross_val_score

    from ._classifier import MLPClassifierX
    from ._pipeline_file import save_fit
    from ._regressor import MLPRegressorX
    from ._tables import FIT_DEFAULTS, column_notes

    cls = MLPClassifierX if task == "classification" else MLPRegressorX
    unknown = sorted(set(params) - set(cls().get_params()))
    if unknown:
        raise CLIError(f"unknown parameter(s) for {cls.__name__}: {', '.join(unknown)}")
    model = cls(**{**FIT_DEFAULTS, **params})
    print(f"{cls.__name__} on {len(X)} rows, {X.shape[1]} columns, target {args.target!r}")
    if args.cv:
        scores = cross_val_score(model, X, y, cv=args.cv, error_score="raise")
        metric = "accuracy" if task == "classification" else "R²"
        print(f"{args.cv}-fold CV {metric}: {scores.mean():.4f} ± {scores.std():.4f}")
    model.set_params(verbose=1).fit(X, y)
    model.set_params(verbose=params.get("verbose", 0))
    for note in column_notes(model._network.table, model.feature_names_in_):
        print(note)
    save_fit(model, X, args.target, args.out)
    print(f"saved {args.out}")
    return 0


def _features(model, frame, target: str):
    expected = list(model.feature_names_in_)
    missing = [c for c in expected if c not in frame.columns or c == target]
    if missing:
        raise CLIError(f"the data lacks the model's column(s): {', '.join(map(str, missing))}")
    return frame[expected]


def cmd_predict(args: argparse.Namespace) -> int:
    from ._tables import read_table

    _require_file(args.model)
    _check_output(args.out, [args.model, args.data])
    frame = read_table(args.data)
    start_tensorflow()
    import pandas as pd
    from sklearn.base import is_classifier

    from ._atomic import write_atomically
    from ._pipeline_file import load_fit

    model, target = load_fit(args.model)
    X = _features(model, frame, target)
    predictions = model.predict(X)
    column = predictions if predictions.ndim == 1 else [list(row) for row in predictions]
    out = pd.DataFrame({"prediction": column}, index=X.index)
    if is_classifier(model):
        proba = model.predict_proba(X)
        for i, label in enumerate(model.classes_):
            out[f"proba_{label}"] = proba[:, i]
    write_atomically(args.out, lambda temporary: out.to_csv(temporary, index=False))
    print(f"wrote {len(out)} predictions to {args.out}")
    return 0


def cmd_attack(args: argparse.Namespace) -> int:
    from ._tables import read_table, split_target

    _require_file(args.model)
    X, y = split_target(read_table(args.data), args.target)
    start_tensorflow()
    import numpy as np
    from sklearn.base import is_classifier

    from ._pipeline_file import load_fit
    from .adversarial import robustness_curve

    model, _ = load_fit(args.model)
    X = _features(model, X, args.target)
    norm = np.inf if args.norm == "inf" else int(args.norm)
    curve = robustness_curve(model, X, y, sorted({0.0, *args.eps}), norm=norm)
    metric = "accuracy" if is_classifier(model) else "R²"
    print(f"FGSM ({args.norm}-norm, in the data's own units) against {args.model}")
    print(f"{'eps':>10}  {metric}")
    for eps, score in zip(curve["eps"], curve["score"], strict=True):
        print(f"{eps:>10g}  {score:.4f}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    start_tensorflow()
    from ._demo import run_demo

    folder = run_demo(Path(args.out), quick=args.quick)
    print(f"report and plots written to {folder}")
    return 0


# -- entry point ---------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skneural", description="Neural-network estimators for scikit-learn, on Keras."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="run the whole story on a built-in data set")
    demo.add_argument("--out", default="skneural-demo", help="folder for the report and plots")
    demo.add_argument("--quick", action="store_true", help="smaller grid, fewer epochs")
    demo.set_defaults(run=cmd_demo)

    fit = commands.add_parser("fit", help="fit an estimator on a CSV or Parquet file")
    fit.add_argument("data", help="CSV or Parquet file")
    fit.add_argument("--target", required=True, help="the column to predict")
    kind = fit.add_mutually_exclusive_group()
    kind.add_argument(
        "--task", choices=["auto", "classification", "regression"], default="auto",
        help="auto (default): labels if the target is text, boolean, or few whole numbers",
    )  # fmt: skip
    for flag, task in (("--classifier", "classification"), ("--regressor", "regression")):
        hidden = argparse.SUPPRESS  # the older spelling of --task
        kind.add_argument(flag, dest="task", action="store_const", const=task, help=hidden)
    fit.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE",
        help="an estimator parameter, e.g. hidden_layer_sizes=(64,32); repeatable",
    )  # fmt: skip
    fit.add_argument("--cv", type=int, default=0, metavar="K", help="report K-fold CV scores")
    fit.add_argument("--out", required=True, help="the model file to write (not DATA)")
    fit.set_defaults(run=cmd_fit)

    predict = commands.add_parser("predict", help="predict with a saved model")
    predict.add_argument("model", help="a file written by 'skneural fit'")
    predict.add_argument("data", help="CSV or Parquet file")
    predict.add_argument("--out", required=True, help="CSV file for the predictions")
    predict.set_defaults(run=cmd_predict)

    attack = commands.add_parser("attack", help="robustness of a saved model to FGSM")
    attack.add_argument("model", help="a file written by 'skneural fit'")
    attack.add_argument("data", help="CSV or Parquet file with the target column")
    attack.add_argument("--target", required=True, help="the true labels' column")
    attack.add_argument(
        "--eps", type=float, nargs="+", required=True, help="one or more budgets, >= 0"
    )
    attack.add_argument("--norm", choices=["inf", "1", "2"], default="inf")
    attack.set_defaults(run=cmd_attack)
    return parser


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    Examples
    --------
    >>> from skneural.cli import main
    >>> main(["fit", "no-such-file.csv", "--target", "y", "--out", "m.zip"])
    1
    """
    args = build_parser().parse_args(argv)
    with warnings_once():
        try:
            return args.run(args)
        except UsageError as exc:
            print(f"skneural: error: {exc}", file=sys.stderr)
            return 2
        except (CLIError, ValueError, TypeError, OSError) as exc:
            # ValueError covers the data and model-file errors (TableError,
            # ModelFileError) and the estimators' parameter checks.
            print(f"skneural: error: {_one_line(exc)}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("skneural: interrupted", file=sys.stderr)
            return 130
        except Exception as exc:
            if os.environ.get("SKNEURAL_TRACEBACK"):
                raise
            print(
                f"skneural: error: {type(exc).__name__}: {_one_line(exc)} "
                "(SKNEURAL_TRACEBACK=1 shows where)",
                file=sys.stderr,
            )
            return 1


def main_exit() -> None:
    """The console script: :func:`main` on ``sys.argv``, its status as the exit code."""
    sys.exit(main())


if __name__ == "__main__":
    main_exit()
