"""The registries in words: the allowed names and which solver reads which parameter,
as numpydoc text for the estimators' docstrings (:mod:`skneural._docstrings`), so
that a new activation, initializer, optimizer or schedule documents itself.
"""

import textwrap
from collections.abc import Iterable

from ._registry import ACTIVATIONS, COMMON_HYPERPARAMETERS, INITIALIZERS, LBFGS, OPTIMIZERS
from ._schedules import SCHEDULES


def _choices(names: Iterable[str], default: str) -> str:
    """A numpydoc type: ``{'a', 'b', ...}, default='a'``, the default first."""
    ordered = [default, *(name for name in names if name != default)]
    return "{" + ", ".join(repr(name) for name in ordered) + f"}}, default={default!r}"


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _readers(parameter: str) -> str:
    """The solvers that read ``parameter``, quoted: ``'rmsprop' and 'adadelta'``."""
    names = [name for name, opt in OPTIMIZERS.items() if parameter in opt.hyperparameters]
    return _and([repr(name) for name in names])


def _paragraph(text: str) -> str:
    """``text`` wrapped as a parameter's description (indented by 8)."""
    return textwrap.fill(text, 88, initial_indent=" " * 8, subsequent_indent=" " * 8)


def _solver_description() -> str:
    groups: dict[tuple[str, ...], list[str]] = {}
    for name, optimizer in OPTIMIZERS.items():
        own = tuple(p for p in optimizer.hyperparameters if p not in COMMON_HYPERPARAMETERS)
        groups.setdefault(own, []).append(repr(name))
    reads = "; ".join(
        f"{_and(names)} {'use' if len(names) > 1 else 'uses'} " + _and([f"``{p}``" for p in own])
        for own, names in groups.items()
    )
    common = _and([f"``{p}``" for p in COMMON_HYPERPARAMETERS])
    return _paragraph(
        "The optimizer: the Keras optimizer of that name, or "
        ":class:`skneural.optimizers.LARS` for 'lars'. Each takes its hyperparameters "
        f"from this estimator's parameters: {reads} ('sgd' is plain when "
        f"``momentum=0``). {common} reach every optimizer. {LBFGS!r} is scikit-learn's "
        "full-batch L-BFGS (scipy's L-BFGS-B over the network's weights, with "
        "``max_iter`` iterations and ``max_fun`` objective evaluations at most); it "
        "refuses ``dropout`` and ``adversarial_eps``, which make the objective random."
    )


#: The registries' contents in the words of the estimators' docstrings, by the
#: name :mod:`skneural._docstrings`' templates give them.
REGISTRY_TEXT = {
    "activations": _choices(ACTIVATIONS, "relu"),
    "solvers": _choices([*OPTIMIZERS, LBFGS], "adam"),
    "solver_description": _solver_description(),
    "schedules": _choices(SCHEDULES, "constant"),
    "initializer_description": _paragraph(
        "Initializer of every Dense kernel (biases start at zero): one of "
        + _and([repr(name) for name in INITIALIZERS])
        + " (the 'glorot' ones are Xavier's, the 'he' ones Kaiming's), or a Keras "
        "initializer instance, which is copied with its seed replaced by one derived "
        "from ``random_state``. 'zeros' leaves every unit of a layer identical: the "
        "textbook demonstration of why symmetry must be broken."
    ),
    "momentum_readers": _readers("momentum"),
    "nesterov_readers": _readers("nesterovs_momentum"),
    "epsilon_description": _paragraph(f"Numerical-stability constant of {_readers('epsilon')}."),
    "rho_description": _paragraph(
        f"Decay of the moving average of squared gradients of {_readers('rho')}."
    ),
}
