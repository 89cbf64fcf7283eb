"""The ``skneural`` command: a demo, and fit / predict / attack on tabular files.

    skneural demo [--out DIR] [--quick]
    skneural fit DATA --target COL [--classifier | --regressor] [--param NAME=VALUE ...]
                 [--cv K] --out MODEL
    skneural predict MODEL DATA --out FILE
    skneural attack MODEL DATA --target COL --eps EPS [--norm {inf,1,2}]

DATA is a CSV or Parquet file. ``fit`` standardises the numeric columns and one-hot
encodes the others in a Pipeline, and saves the pipeline in a pickle-free model file
(:func:`skneural.save` for the network, JSON for the preprocessing). Every error
prints one line and exits with status 2 (usage) or 1 (anything else).
"""

import argparse
import ast
import json
import os
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import is_classifier
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ._classifier import MLPClassifierX
from ._persistence import load, save
from ._regressor import MLPRegressorX
from .exceptions import ModelFileError

_PIPELINE_FORMAT = "skneural-pipeline"


class CLIError(Exception):
    """An error reported to the user as one line."""


# -- data ----------------------------------------------------------------------------


def read_table(path: str) -> pd.DataFrame:
    """A CSV or Parquet file as a DataFrame, with errors in one line."""
    file = Path(path)
    if not file.is_file():
        raise CLIError(f"no such file: {path}")
    suffix = file.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(file)
        return pd.read_csv(file)
    except ImportError as exc:
        raise CLIError(f"cannot read {path}: {exc}") from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise CLIError(f"cannot read {path} as {'Parquet' if suffix else 'CSV'}: {exc}") from None


def _split_target(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, pd.Series]:
    if target not in frame.columns:
        raise CLIError(f"column {target!r} not found; the columns are {list(frame.columns)}")
    X = frame.drop(columns=[target])
    if X.shape[1] == 0:
        raise CLIError("the data has no feature columns besides the target")
    return X, frame[target]


def _is_classification(y: pd.Series) -> bool:
    """Text, boolean and categorical targets, or integers with few values."""
    if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
        return True
    return pd.api.types.is_integer_dtype(y) and y.nunique() <= 20


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


# -- the pipeline and its file -------------------------------------------------------


def make_pipeline(X: pd.DataFrame, estimator) -> Pipeline:
    """Standardise numeric columns and one-hot encode the others, then ``estimator``."""
    numeric = [c for c in X.columns if _is_numeric(X[c])]
    other = [c for c in X.columns if c not in numeric]
    steps = []
    if numeric:
        steps.append(("numeric", StandardScaler(), numeric))
    if other:
        steps.append(("categorical", OneHotEncoder(handle_unknown="ignore"), other))
    return Pipeline([("columns", ColumnTransformer(steps)), ("model", estimator)])


def _is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def save_pipeline(pipeline: Pipeline, X: pd.DataFrame, target: str, path: str) -> None:
    """The fitted pipeline as a zip: the network in skneural's format, the
    preprocessing's fitted numbers as JSON. No pickle."""
    columns = pipeline.named_steps["columns"]
    spec = {"format": _PIPELINE_FORMAT, "target": target, "columns": list(X.columns)}
    for name, step, cols in columns.transformers_:
        if name == "numeric":
            spec["numeric"] = {
                "columns": list(cols),
                "mean": step.mean_.tolist(),
                "scale": step.scale_.tolist(),
            }
        elif name == "categorical":
            spec["categorical"] = {
                "columns": list(cols),
                "categories": [c.tolist() for c in step.categories_],
            }
    with tempfile.TemporaryDirectory() as tmp:
        network = os.path.join(tmp, "model.skneural")
        save(pipeline.named_steps["model"], network)
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("pipeline.json", json.dumps(spec))
            archive.write(network, "model.skneural")


def load_pipeline(path: str) -> tuple[Pipeline, str]:
    """The pipeline saved by :func:`save_pipeline`, and its target column's name."""
    if not Path(path).is_file():
        raise CLIError(f"no such file: {path}")
    try:
        with zipfile.ZipFile(path) as archive:
            spec = json.loads(archive.read("pipeline.json"))
            network = archive.read("model.skneural")
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise CLIError(f"{path} is not a model file written by 'skneural fit' ({exc})") from None
    if not isinstance(spec, dict) or spec.get("format") != _PIPELINE_FORMAT:
        raise CLIError(f"{path} is not a model file written by 'skneural fit'")
    with tempfile.TemporaryDirectory() as tmp:
        file = os.path.join(tmp, "model.skneural")
        Path(file).write_bytes(network)
        try:
            estimator = load(file)
        except ModelFileError as exc:
            raise CLIError(f"{path}: {exc}") from None
    return _rebuild(spec, estimator), spec["target"]


def _rebuild(spec: dict, estimator) -> Pipeline:
    """Refit the preprocessing on one placeholder row, then put back its numbers."""
    numeric = spec.get("numeric", {"columns": []})
    categorical = spec.get("categorical", {"columns": [], "categories": []})
    row = {c: [0.0] for c in numeric["columns"]}
    pairs = zip(categorical["columns"], categorical["categories"], strict=True)
    row.update({c: [cats[0]] for c, cats in pairs})
    steps = []
    if numeric["columns"]:
        steps.append(("numeric", StandardScaler(), numeric["columns"]))
    if categorical["columns"]:
        encoder = OneHotEncoder(categories=categorical["categories"], handle_unknown="ignore")
        steps.append(("categorical", encoder, categorical["columns"]))
    columns = ColumnTransformer(steps).fit(pd.DataFrame(row)[spec["columns"]])
    if numeric["columns"]:
        scaler = columns.named_transformers_["numeric"]
        scaler.mean_ = np.array(numeric["mean"])
        scaler.scale_ = np.array(numeric["scale"])
        scaler.var_ = scaler.scale_**2
    return Pipeline([("columns", columns), ("model", estimator)])


# -- commands ------------------------------------------------------------------------


def cmd_fit(args: argparse.Namespace) -> int:
    X, y = _split_target(read_table(args.data), args.target)
    classify = args.classifier or (not args.regressor and _is_classification(y))
    params = _parse_params(args.param)
    cls = MLPClassifierX if classify else MLPRegressorX
    try:
        estimator = cls(**params)
    except TypeError:
        unknown = sorted(set(params) - set(cls().get_params()))
        raise CLIError(f"unknown parameter(s) for {cls.__name__}: {', '.join(unknown)}") from None
    pipeline = make_pipeline(X, estimator)
    print(f"{cls.__name__} on {len(X)} rows, {X.shape[1]} columns, target {args.target!r}")
    if args.cv:
        scores = cross_val_score(pipeline, X, y, cv=args.cv)
        metric = "accuracy" if classify else "R²"
        print(f"{args.cv}-fold CV {metric}: {scores.mean():.4f} ± {scores.std():.4f}")
    pipeline.set_params(model__verbose=1).fit(X, y)
    pipeline.named_steps["model"].set_params(verbose=params.get("verbose", 0))
    save_pipeline(pipeline, X, args.target, args.out)
    print(f"saved {args.out}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    pipeline, target = load_pipeline(args.model)
    frame = read_table(args.data)
    X = frame.drop(columns=[target]) if target in frame.columns else frame
    expected = list(pipeline.named_steps["columns"].feature_names_in_)
    missing = [c for c in expected if c not in X.columns]
    if missing:
        raise CLIError(f"the data lacks the model's column(s): {', '.join(map(str, missing))}")
    X = X[expected]
    out = pd.DataFrame({"prediction": _column(pipeline.predict(X))}, index=X.index)
    if is_classifier(pipeline.named_steps["model"]):
        proba = pipeline.predict_proba(X)
        for i, label in enumerate(pipeline.classes_):
            out[f"proba_{label}"] = proba[:, i]
    out.to_csv(args.out, index=False)
    print(f"wrote {len(out)} predictions to {args.out}")
    return 0


def _column(values: np.ndarray):
    return values if values.ndim == 1 else [list(row) for row in values]


def cmd_attack(args: argparse.Namespace) -> int:
    from .adversarial import robustness_curve

    pipeline, _ = load_pipeline(args.model)
    X, y = _split_target(read_table(args.data), args.target)
    X = X[list(pipeline.named_steps["columns"].feature_names_in_)]
    norm = np.inf if args.norm == "inf" else int(args.norm)
    budgets = sorted({0.0, *args.eps})
    curve = robustness_curve(pipeline, X, y, budgets, norm=norm)
    metric = "accuracy" if is_classifier(pipeline.named_steps["model"]) else "R²"
    print(f"FGSM ({args.norm}-norm, in the data's own units) against {args.model}")
    print(f"{'eps':>10}  {metric}")
    for eps, score in zip(curve["eps"], curve["score"], strict=True):
        print(f"{eps:>10g}  {score:.4f}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
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

    fit = commands.add_parser("fit", help="fit a pipeline on a CSV or Parquet file")
    fit.add_argument("data", help="CSV or Parquet file")
    fit.add_argument("--target", required=True, help="the column to predict")
    kind = fit.add_mutually_exclusive_group()
    kind.add_argument("--classifier", action="store_true", help="force classification")
    kind.add_argument("--regressor", action="store_true", help="force regression")
    fit.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE",
        help="an estimator parameter, e.g. hidden_layer_sizes=(64,32); repeatable",
    )  # fmt: skip
    fit.add_argument("--cv", type=int, default=0, metavar="K", help="report K-fold CV scores")
    fit.add_argument("--out", required=True, help="the model file to write")
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    Examples
    --------
    >>> from skneural.cli import main
    >>> main(["fit", "no-such-file.csv", "--target", "y", "--out", "m.zip"])
    1
    """
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except CLIError as exc:
        print(f"skneural: error: {exc}", file=sys.stderr)
        return 1
    except (ValueError, TypeError) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"skneural: error: {message}", file=sys.stderr)
        return 1


def main_exit() -> None:
    """The console script: :func:`main` on ``sys.argv``, its status as the exit code."""
    sys.exit(main())


if __name__ == "__main__":
    main_exit()
