"""The documentation site (mkdocs.yml, docs/): it builds with ``mkdocs build --strict``,
the API reference shows every public class and function, each documented with an
example, the parameter table names every parameter, and the walk-throughs run."""

import importlib
import importlib.util
import inspect
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import griffe
import numpy as np
import pytest

from skneural import MLPClassifierX, MLPRegressorX
from skneural._registry import ACTIVATIONS, LBFGS, OPTIMIZERS
from skneural._schedules import SCHEDULES

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

# The public API: what the API reference must show, each with an example.
PUBLIC = {
    "skneural": ["MLPClassifierX", "MLPRegressorX", "save", "load"],
    "skneural.adversarial": [
        "fgsm",
        "bim",
        "pgd",
        "robust_score",
        "robust_accuracy",
        "make_adversarial_scorer",
        "robustness_curve",
    ],
    "skneural.optimizers": ["LARS"],
    "skneural.streaming": ["fit_batches"],
    "skneural.exceptions": ["DiagnosticWarning", "NotDifferentiableError", "ModelFileError"],
}
if importlib.util.find_spec("skneural.plotting") is not None:
    PUBLIC["skneural.plotting"] = list(importlib.import_module("skneural.plotting").__all__)


def _resolve(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


PUBLIC_NAMES = sorted(
    {f"{module}.{name}" for module, names in PUBLIC.items() for name in names}
    | {f"skneural.{name}" for name in importlib.import_module("skneural").__all__}
    - {"skneural.__version__"}
)

# Public objects whose docstring has no runnable example yet. The test of each is an
# expected failure that turns into an error (strict) once the example is written:
# then delete the entry.
MISSING_EXAMPLES: dict[str, str] = {}

# Public objects whose API-reference Default column is wrong because of how their
# docstring is written; strict expected failures, as above.
WRONG_DEFAULTS: dict[str, str] = {}


def _is_exception(name: str) -> bool:
    obj = _resolve(name)
    return isinstance(obj, type) and issubclass(obj, BaseException)


# The public callables with a signature (not the exception classes).
SIGNED_NAMES = [name for name in PUBLIC_NAMES if not _is_exception(name)]


def _marked(names: list[str], known: dict[str, str]) -> list:
    return [
        pytest.param(name, marks=pytest.mark.xfail(reason=known[name], strict=True))
        if name in known
        else name
        for name in names
    ]


def _python_blocks(page: str) -> list[str]:
    text = (DOCS / page).read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```$", text, flags=re.DOTALL | re.MULTILINE)


@pytest.fixture(scope="module")
def api():
    """skneural as mkdocstrings reads it: imported, with mkdocs.yml's griffe extension."""
    extensions = griffe.load_extensions(
        str(DOCS / "_griffe" / "numpydoc_compat.py") + ":NumpydocCompat"
    )
    return griffe.load(
        "skneural",
        search_paths=[str(ROOT), *sys.path],
        force_inspection=True,
        extensions=extensions,
        docstring_parser="numpy",
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """Build the site once for this module; fail with mkdocs's own output."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if result.returncode != 0:
        pytest.fail(
            f"mkdocs build --strict failed (exit {result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}",
            pytrace=False,
        )
    return out


@pytest.mark.slow
def test_site_builds_strictly_with_every_page(site):
    # mkdocs.yml makes a page left out of the nav a warning, so an error here.
    for page in DOCS.glob("*.md"):
        built = site / ("index.html" if page.stem == "index" else f"{page.stem}/index.html")
        assert built.is_file(), f"docs/{page.name} was not built"
    # The griffe extension kept in docs/ is not published.
    assert not list(site.rglob("*.py"))
    # The estimators' shared parameter text is substituted, not shown raw.
    assert "%(" not in (site / "api" / "index.html").read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_api_reference_shows(site, name):
    html = (site / "api" / "index.html").read_text(encoding="utf-8")
    assert f'id="{name}"' in html, f"{name} is missing from docs/api.md's rendered page"


@pytest.mark.parametrize("name", _marked(PUBLIC_NAMES, MISSING_EXAMPLES))
def test_public_docstring_has_an_example(name):
    doc = inspect.getdoc(_resolve(name)) or ""
    section = re.search(r"^Examples\n-+\n(.*?)(?=^\w[^\n]*\n-+\n|\Z)", doc, re.DOTALL | re.M)
    assert section, f"{name}'s docstring has no Examples section"
    assert ">>>" in section.group(1), f"{name}'s Examples section has no code"


@pytest.mark.parametrize("name", _marked(SIGNED_NAMES, WRONG_DEFAULTS))
def test_rendered_defaults_are_the_real_ones(api, name):
    """The API reference's Default column (griffe's reading of the docstring, e.g. of
    ``activation : {'identity', ..., 'relu', ...}, default='relu'``) equals the
    signature's default."""
    signature = inspect.signature(_resolve(name)).parameters
    documented = [
        parameter
        for section in api[name.removeprefix("skneural.")].docstring.parse("numpy")
        if section.kind is griffe.DocstringSectionKind.parameters
        for parameter in section.value
    ]
    for parameter in documented:
        if parameter.name not in signature or parameter.value is None:
            continue
        default = signature[parameter.name].default
        if default is inspect.Parameter.empty:
            continue
        # The Default column holds Python source from our own docstrings.
        shown = eval(parameter.value, {"np": np, "inf": math.inf})
        assert shown == default, f"{name}({parameter.name}=...) is shown as {parameter.value}"


def test_parameter_table_names_every_parameter():
    text = (DOCS / "parameters.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `(\w+)`", text, flags=re.MULTILINE))
    params = set(MLPClassifierX().get_params()) | set(MLPRegressorX().get_params())
    assert params - rows == set(), "parameters missing from docs/parameters.md"
    assert rows - params == set(), "docs/parameters.md names parameters that do not exist"


@pytest.mark.parametrize(
    "parameter, names",
    [
        ("solver", [*OPTIMIZERS, LBFGS]),
        ("activation", list(ACTIVATIONS)),
        ("learning_rate", list(SCHEDULES)),
    ],
)
def test_parameter_table_names_every_registered_value(parameter, names):
    """docs/parameters.md is written by hand; the docstrings' lists come from the
    registries. A registry entry the table does not name fails here."""
    text = (DOCS / "parameters.md").read_text(encoding="utf-8")
    row = re.search(rf"^\| `{parameter}` \|.*$", text, flags=re.MULTILINE).group(0)
    missing = [name for name in names if f"`'{name}'`" not in row]
    assert not missing, f"docs/parameters.md's {parameter} row does not name {missing}"


@pytest.mark.slow
@pytest.mark.parametrize("page", ["quickstart.md", "scaling.md", "tabular.md"])
def test_walk_through_runs(page, tmp_path, monkeypatch):
    blocks = _python_blocks(page)
    assert blocks, f"no python blocks in {page}"
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__docs__"}
    for i, block in enumerate(blocks):
        exec(compile(block, f"{page}, python block {i + 1}", "exec"), namespace)
