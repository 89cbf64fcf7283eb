"""Full-batch L-BFGS training: scikit-learn's ``solver='lbfgs'`` on a Keras network.

scipy's L-BFGS-B minimises the training objective over one flat float64 vector of the
network's trainable variables, as scikit-learn's MLP does (``maxiter=max_iter``,
``maxfun=max_fun``, ``gtol=tol``, and ``n_iter_`` and the ``ConvergenceWarning``
from scikit-learn's own ``_check_optimize_result``). The objective and its gradient
come from one compiled TensorFlow function over the whole data set, in the model's
dtype; scipy's float64 vector is converted at the call boundary only. That function
is a pure function of the flat weights, so one trainer (one trace) serves every
model of the same shape: cross-validation and grid searches trace it once. The objective
is the minibatch objective of :class:`skneural._epoch.EpochRunner` with the whole
data set as the batch: the sample-weighted mean of the per-sample loss plus
``(alpha / 2 * ||W||^2 + l1 * |W|_1) / sum(weights)`` over the Dense kernels, so
L-BFGS and the other solvers minimise the same function. The flat vector and the
compiled objective over it are :mod:`skneural._flat_objective`'s; this module is
the scipy driver around them and what the lbfgs solver refuses.

L-BFGS needs a deterministic full-batch objective. What that means for the options
that are not deterministic or not full-batch:

- **Dropout is refused** (``ValueError`` naming ``dropout``). Running dropout layers
  in inference mode would train, without a word, a network other than the one asked
  for; a fixed dropout mask would train for one mask. Neither is what ``dropout``
  promises, so the choice is the user's: ``dropout=0`` or another solver.
- **Batch normalization trains in training mode over the full batch**: each layer
  normalises by the statistics of the whole data set at the current weights, which is
  deterministic. After the last iteration, every batch-norm layer's moving mean and
  variance are set to those full-batch statistics at the final weights (the biased
  variance, as the layer normalises by), so that inference computes the very network
  the objective measured.
- **Adversarial training is refused** (``ValueError`` naming ``adversarial_eps``): its
  examples are remade from the weights at every step, so the objective moves under
  the line search.

The loss at every iteration is recorded through scipy's callback (scikit-learn 1.9
records no ``loss_curve_`` for ``lbfgs``; the record here is what the other solvers
keep, one value per iteration). With scipy >= 1.15 L-BFGS-B prints nothing
(``iprint`` is deprecated and ignored; scikit-learn passes it only to older scipy,
and so does this module); with ``verbose`` this module prints scikit-learn's
``Iteration n, loss = ...`` line per iteration instead.

Two known differences from scikit-learn 1.9's lbfgs: with several regression
outputs its gradient is ``n_outputs`` times the gradient of the squared error it
reports (the loss averages over outputs, the gradient does not), so its iterates
differ from these; and an objective that is not finite at the start (inputs near
1e308) makes scipy stop after 0 iterations, which scikit-learn reports only as a
``ConvergenceWarning`` with ``loss_ = nan``, while :attr:`LbfgsResult.finite` is
False here, so that the estimator can raise its non-finite-weights error.
"""

import dataclasses
import functools

import keras
import numpy as np
import scipy.optimize

from ._compat import _check_optimize_result, _get_additional_lbfgs_options_dict
from ._config import NetworkSpec
from ._epoch import TrainData
from ._flat_objective import FlatObjective
from ._network import dense_layers
from ._plan import Objective, Plan
from ._record import TrainingState
from ._training import NON_FINITE_WEIGHTS


@dataclasses.dataclass
class LbfgsResult:
    """What one L-BFGS run reports.

    ``n_iter`` is scikit-learn's ``n_iter_`` (scipy's iteration count, at most
    ``max_iter``); ``loss_curve`` the objective after each iteration; ``loss`` the
    objective at the final weights (scikit-learn's ``loss_``); ``n_fun`` the number of
    objective evaluations; ``finite`` is False when the objective at the starting
    weights or at the final weights, or a final weight, is NaN or infinite (the
    estimator then raises scikit-learn's "Solver produced non-finite parameter
    weights" error).
    """

    n_iter: int
    loss_curve: list[float]
    loss: float
    n_fun: int
    finite: bool


class LbfgsTrainer(FlatObjective):
    """L-BFGS over the compiled full-batch objective of one network shape.

    The objective is a :class:`skneural._flat_objective.FlatObjective`: one trace
    serves every fit of the shape (any model built from an equal spec, any data
    size, any ``alpha`` / ``l1``), and since it writes nothing, fits may share a
    trainer concurrently.

    Parameters
    ----------
    spec : NetworkSpec
        The shape of the networks to train (its initializer does not matter).
    objective : Objective
        The loss and its options (fixed for this trainer); ``alpha`` and ``l1`` are
        read at every :meth:`run`.

    Raises
    ------
    ValueError
        If the spec has dropout, or the objective trains on adversarial examples.

    Examples
    --------
    >>> import numpy as np
    >>> from skneural._epoch import TrainData
    >>> from skneural._plan import Objective
    >>> from skneural._config import NetworkSpec
    >>> from skneural._network import build_network
    >>> spec = NetworkSpec(2, (8,), "tanh", "glorot_uniform", (0.0,), False, 0.99,
    ...                    False, 1, "identity", "float64")
    >>> X = np.random.default_rng(1).normal(size=(50, 2))
    >>> data = TrainData.from_arrays(X, X[:, :1] * X[:, 1:], np.ones(50), "float64")
    >>> trainer = LbfgsTrainer(spec, Objective("squared_error"))
    >>> model = build_network(spec, np.random.default_rng(0))
    >>> result = trainer.run(model, data, Objective("squared_error"), 500, 15000, 1e-4)
    >>> result.finite, result.n_iter == len(result.loss_curve), result.loss < 0.01
    (True, True, True)
    """

    def __init__(self, spec: NetworkSpec, objective: Objective):
        _refuse_random_objectives(spec.dropout, objective)
        super().__init__(spec, objective)

    def run(
        self,
        model: keras.Model,
        data: TrainData,
        objective: Objective,
        max_iter: int,
        max_fun: int,
        tol: float,
        verbose: int = 0,
    ) -> LbfgsResult:
        """Minimise the objective over ``data``, starting from ``model``'s weights.

        Parameters
        ----------
        model : keras.Model
            Built from a spec equal to the trainer's; trained in place.
        data : TrainData
            The whole training set, in the model's dtype.
        objective : Objective
            Same loss and options as the trainer's; its ``alpha`` and ``l1`` are used.
        max_iter, max_fun, tol : int, int, float
            scikit-learn's ``max_iter``, ``max_fun`` and ``tol`` (scipy's ``maxiter``,
            ``maxfun`` and ``gtol``).
        verbose : int, default=0
            Print the loss after every iteration.

        Returns
        -------
        LbfgsResult
            The weights are left in ``model``.
        """
        _refuse_random_objectives(_dropout_rates(model), objective)
        if (objective.loss, objective.loss_options) != self._loss:
            raise ValueError(
                f"This trainer computes the loss {self._loss!r}; "
                f"got an objective with {(objective.loss, objective.loss_options)!r}."
            )
        alpha, l1 = float(objective.alpha), float(objective.l1)
        start = self.flat_weights(model)
        start_loss, _ = self.loss_and_gradient(start, data, alpha, l1)
        if not np.isfinite(start_loss):
            return LbfgsResult(0, [], start_loss, 1, False)

        loss_curve: list[float] = []

        def record(intermediate_result: scipy.optimize.OptimizeResult) -> None:
            loss_curve.append(float(intermediate_result.fun))
            if verbose:
                print(f"Iteration {len(loss_curve)}, loss = {loss_curve[-1]:.8f}")

        iprint = 1 if verbose is True or verbose >= 1 else -1
        result = scipy.optimize.minimize(
            self.loss_and_gradient,
            start,
            args=(data, alpha, l1),
            method="L-BFGS-B",
            jac=True,
            callback=record,
            options={
                "maxfun": max_fun,
                "maxiter": max_iter,
                "gtol": tol,
                **_get_additional_lbfgs_options_dict("iprint", iprint),
            },
        )
        n_iter = _check_optimize_result("lbfgs", result, max_iter)
        self.set_flat_weights(model, result.x)
        finite = bool(np.isfinite(result.fun) and np.all(np.isfinite(result.x)))
        if finite:
            self.set_batch_norm_statistics(model, result.x, data)
        return LbfgsResult(n_iter, loss_curve, float(result.fun), int(result.nfev), finite)


def _dropout_rates(model: keras.Model) -> list[float]:
    return [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)]


def _refuse_random_objectives(dropout: "tuple[float, ...] | list[float]", objective) -> None:
    if any(rate > 0 for rate in dropout):
        raise ValueError(
            "solver='lbfgs' needs a deterministic objective and does not support "
            f"dropout; expected dropout=0, got dropout rates {list(dropout)!r}. Use "
            "dropout=0 or a stochastic solver such as 'adam'."
        )
    if objective.adversarial_eps is not None:
        budget = [float(eps) for eps in objective.adversarial_eps]
        shown = budget if len(budget) <= 4 else f"{budget[:3]} ... ({len(budget)} values)"
        raise ValueError(
            "solver='lbfgs' needs a fixed objective and does not support adversarial "
            f"training; expected adversarial_eps=None, got a budget of {shown}. Use a "
            "stochastic solver such as 'adam'."
        )


@functools.lru_cache(maxsize=8)
def _trainer(spec: NetworkSpec, objective: Objective) -> LbfgsTrainer:
    return LbfgsTrainer(spec, objective)


def fit_lbfgs(model: keras.Model, plan: Plan, data: TrainData, record: TrainingState) -> int:
    """Train ``model`` by L-BFGS under ``plan``; extend ``record`` by one row per
    iteration (the loss; there are no learning rates, gradient norms or unit counts
    per iteration, so those are NaN) and return ``n_iter_``.

    Trainers are kept for the last few network shapes, so a search traces each once.

    Raises
    ------
    ValueError
        scikit-learn's non-finite weights error when the objective or the weights are
        not finite; the model then keeps its starting weights.
    """
    # The trainer's workspace weights are never used: any initializer keys it.
    spec = dataclasses.replace(plan.network, kernel_initializer="zeros")
    trainer = _trainer(spec, plan.objective.loss_only())
    rule = plan.stopping
    start = trainer.flat_weights(model)
    result = trainer.run(
        model, data, plan.objective, rule.max_iter, rule.max_fun, rule.tol, rule.verbose
    )
    if not result.finite:
        trainer.set_flat_weights(model, start)
        raise ValueError(NON_FINITE_WEIGHTS)
    n_kernels = len(dense_layers(model))
    for loss in result.loss_curve:
        record.history.append({"loss": loss})
        record.gradient_norms.append(np.full(n_kernels, np.nan))
        record.dead_fractions.append(np.full(n_kernels - 1, np.nan))
    record.loss_curve.extend(result.loss_curve)
    return result.n_iter
