"""The training loop: scikit-learn's stopping rules around compiled epochs.

Epochs run in calls of a compiled function (:mod:`skneural._epoch`) over tensors that
stay resident, as many to a call as no rule between epochs can stop or change (see
:meth:`EpochLoop._learning_rates`). Around them, :class:`EpochLoop` applies
scikit-learn's MLP semantics epoch by epoch: the ``tol`` / ``n_iter_no_change`` rule on
the training loss or the validation score, the learning-rate schedule
(:mod:`skneural._schedules`), best-weights restore for early stopping, and the
``ConvergenceWarning`` at ``max_iter``. An epoch that diverged stops training and is
undone: its loss or weights are no longer finite, or its loss is :data:`BLOW_UP` times
the loss the fit started from (a finite blow-up: outputs of 1e18 are as useless as
infinite ones).
"""

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ._epoch import EpochResult, EpochRunner, TrainData
from ._plan import Plan
from ._progress import Progress
from ._record import TrainingState


@dataclass
class Validation:
    """A held-out set and how to score the model on it, from its loss and outputs
    there (higher is better)."""

    data: TrainData
    score: Callable[[float, np.ndarray], float]


#: scikit-learn's words when training ends before any weights were finite.
NON_FINITE_WEIGHTS = (
    "Solver produced non-finite parameter weights. The input data may contain large "
    "values and need to be preprocessed."
)

#: An epoch whose mean loss, or whose first batch's loss after its last step,
#: exceeds this multiple of the starting loss (the first batch's before any step of
#: this fit; at least 1) diverged. Unstable but useful
#: training stays far below it: on standardised data, rates that recover (SGD/Adam
#: at 1.0) peak at about 40x; rates that never recover pass 1e4x within two epochs.
BLOW_UP = 1e4

#: Epochs run in one call of the compiled graph (:mod:`skneural._epoch`) train on at
#: most this many rows in all, so that a call's ~0.3-0.5 ms weighs little on small
#: data, while an interrupt (which undoes the whole call) loses little work.
ROWS_PER_CALL = 50_000
#: ... and are at most this many: the call's reports grow by a row an epoch (copied
#: whole each time), which stays negligible up to here.
EPOCHS_PER_CALL = 1024

_CONTINUE, _STOP, _DIVERGED = "continue", "stop", "diverged"


class EpochLoop:
    """Runs epochs on a workspace until a stopping rule fires.

    Parameters
    ----------
    runner : EpochRunner
        The workspace loaded with the fitted network's state.
    state : TrainingState
        The record the epochs extend (and roll back on an interrupted epoch).
    plan : Plan
        The schedule, the stopping rule and the batch size.
    data : TrainData
        What each epoch trains on.
    validation : Validation or None
        The held-out set early stopping scores, if any.
    rng : numpy.random.Generator
        Shuffles each epoch; put back with the record when an epoch is undone.
    """

    def __init__(
        self,
        runner: EpochRunner,
        state: TrainingState,
        plan: Plan,
        data: TrainData,
        validation: Validation | None,
        rng: np.random.Generator,
    ):
        self.runner = runner
        self.state = state
        self.data = runner.prepare(data)
        if validation is not None:
            validation = replace(validation, data=runner.prepare(validation.data))
        self.validation = validation
        self.rng = rng
        self.schedule, self.rule = plan.schedule, plan.stopping
        self.batch_size = plan.batch_size_for(data.n_samples)
        self._say: Callable[[str], None] = print
        self._start_loss: float | None = None

    def run(self, incremental: bool) -> int:
        """Train until a stopping rule fires; return the number of epochs run
        (``n_iter_``). With ``incremental=True`` exactly one epoch runs
        (``partial_fit``)."""
        state, rule, runner = self.state, self.rule, self.runner
        state.track(self.validation is not None, runner.workspace)
        with Progress(rule, incremental) as progress:
            self._say = progress.say
            n_iter, outcome = 0, _CONTINUE
            while outcome == _CONTINUE and n_iter < rule.max_iter:
                checkpoint, rng_state = state.checkpoint(), self.rng.bit_generator.state
                started = runner.calls_started
                learning_rates: list[float] = []  # none yet: the next epoch's number
                try:
                    # Inside the handler: an interrupt while the schedule sets the rates
                    # comes between calls, and keeps the epochs completed so far.
                    learning_rates = self._learning_rates(rule.max_iter - n_iter, incremental)
                    outcomes = self._epochs(learning_rates, progress)
                except BaseException as exc:
                    # Whatever stopped the call, the model and the record are put back
                    # as they were after the last complete one, so that they agree.
                    runner.undo_unfinished(started)
                    state.rollback(checkpoint)
                    self.rng.bit_generator.state = rng_state
                    if not isinstance(exc, KeyboardInterrupt):
                        raise
                    _warn_interrupted(
                        len(state.history), len(learning_rates), self.validation is not None
                    )
                    break
                outcome = outcomes[-1]
                n_iter += len(outcomes) - (outcome == _DIVERGED)
                if incremental:
                    break
                if outcome == _CONTINUE and n_iter == rule.max_iter:
                    warnings.warn(
                        f"Stochastic Optimizer: Maximum iterations ({rule.max_iter}) reached "
                        "and the optimization hasn't converged yet.",
                        ConvergenceWarning,
                    )
        if self.validation is not None:
            runner.workspace.set_weights(state.best_weights)
        return n_iter

    def _learning_rates(self, remaining: int, incremental: bool) -> list[float]:
        """The learning rate of each epoch the next call runs: as many epochs as no
        rule between epochs can stop or change, up to :data:`ROWS_PER_CALL` rows and
        :data:`EPOCHS_PER_CALL` epochs (at least one epoch; the first of a fit runs
        alone, to learn its starting loss)."""
        state, rule = self.state, self.rule
        n = self.data.n_samples
        count = 1
        if not incremental and self.validation is None and self._start_loss is not None:
            count = min(remaining, max(1, ROWS_PER_CALL // n), EPOCHS_PER_CALL)
            if math.isfinite(rule.n_iter_no_change):
                # The stopping rule (or 'adaptive's plateau) can fire no earlier than
                # the epoch that takes the count of epochs without improvement past it.
                count = min(count, int(rule.n_iter_no_change) + 1 - state.no_improvement_count)
        rates = []
        for i in range(max(count, 1)):
            rate = self.schedule.rate(
                state.schedule_epoch + i, state.t + i * n, state.learning_rate
            )
            if rates and rate != rates[0]:
                break  # the rate is set between calls
            rates.append(rate)
        return rates

    def _epochs(self, learning_rates: list[float], progress: Progress) -> list[str]:
        """One call of epochs and their bookkeeping; for each epoch run, whether to
        continue, stop, or it diverged (only the last epoch can stop or diverge)."""
        n_samples, rng = self.data.n_samples, self.rng
        self.runner.workspace.set_learning_rate(learning_rates[0])
        before = rng.bit_generator.state
        shuffled, count = self.rule.shuffle, len(learning_rates)
        if shuffled:
            orders = np.stack([rng.permutation(n_samples) for _ in range(count)])
        else:
            orders = np.tile(np.arange(n_samples), (count, 1))
        results = self.runner.run_epochs(self.data, orders, self.batch_size, self._limit())
        if len(results) < len(orders) and shuffled:
            # Fewer epochs ran: the generator advances only by the orders they used.
            rng.bit_generator.state = before
            for _ in results:
                rng.permutation(n_samples)
        outcomes = []
        for result in results:
            if outcomes and outcomes[-1] != _CONTINUE:
                raise RuntimeError("an epoch ran after the training stopped")  # a bug
            outcomes.append(self._record(result, learning_rates[0]))
            progress.update(self.state.history[-1])
        return outcomes

    def _limit(self) -> float:
        """The loss beyond which an epoch diverged (none before the fit's first)."""
        if self._start_loss is None:
            return np.inf
        return BLOW_UP * max(abs(self._start_loss), 1.0)

    def _record(self, result: EpochResult, learning_rate: float) -> str:
        """The bookkeeping of one epoch; whether to continue, stop, or it diverged."""
        state, rule, runner, validation = self.state, self.rule, self.runner, self.validation
        n_samples = self.data.n_samples
        loss = result.loss
        row = {"loss": loss, "learning_rate": learning_rate}
        state.gradient_norms.append(result.gradient_norms)
        state.dead_fractions.append(result.dead_fractions)
        self._say(f"Iteration {len(state.history) + 1}, loss = {loss:.8f}")
        if self._start_loss is None:
            self._start_loss = result.first_loss
        limit = self._limit()
        # The epoch's loss was taken before each step; the end loss judges the last.
        worst = max(loss, result.end_loss)
        if not result.finite or worst > limit:
            if not state.loss_curve and validation is None:
                # No epoch ever ended well: there are no weights worth keeping (the
                # caller's handler puts the workspace back as the epoch found it).
                # Early stopping keeps its best weights, here the initial ones, as
                # scikit-learn's does.
                if not result.finite:
                    raise ValueError(NON_FINITE_WEIGHTS)
                raise ValueError(_divergence(1, worst, self._start_loss, learning_rate))
            state.history.append(row)
            runner.restore()
            warnings.warn(
                _divergence(len(state.history), worst, self._start_loss, learning_rate)
                + f" Training stopped and the weights from the start of epoch "
                f"{len(state.history)} (the last good ones) were restored.",
                ConvergenceWarning,
            )
            return _DIVERGED
        state.t += n_samples
        state.schedule_epoch += 1
        state.loss_curve.append(loss)

        if validation is not None:
            val_loss, outputs = runner.evaluate(validation.data)
            score = validation.score(val_loss, outputs)
            row.update(val_loss=val_loss, val_score=score)
            state.validation_scores.append(score)
            self._say(f"Validation score: {score:f}")
            improved = score > state.best_validation_score
            state.count_no_improvement(score < state.best_validation_score + rule.tol)
            if improved:
                state.best_validation_score = score
                state.best_weights = runner.workspace.get_weights()
        else:
            state.count_no_improvement(loss > state.best_loss - rule.tol)
            state.best_loss = min(state.best_loss, loss)
        state.history.append(row)

        if state.no_improvement_count > rule.n_iter_no_change:
            lowered = self.schedule.on_plateau(state.learning_rate)
            if lowered is not None:
                state.learning_rate = lowered
                state.no_improvement_count = 0
                self._say(f"Setting learning rate to {state.learning_rate:f}")
            else:
                what = "Validation score" if validation is not None else "Training loss"
                self._say(
                    f"{what} did not improve more than tol={rule.tol:f} for "
                    f"{rule.n_iter_no_change} consecutive epochs. Stopping."
                )
                return _STOP
        return _CONTINUE


def _warn_interrupted(completed: int, n_epochs: int, validation: bool) -> None:
    kept = " (the best on the validation set)" if validation else ""
    where = f"epoch {completed + 1}"
    if n_epochs > 1:
        where = f"epochs {completed + 1}-{completed + n_epochs} (trained in one call)"
    warnings.warn(
        f"Training was interrupted (KeyboardInterrupt) in {where}; it "
        f"stopped there and the estimator keeps the weights after epoch {completed}"
        f"{kept}. Fit again with warm_start=True to continue.",
        UserWarning,
    )


def _divergence(epoch: int, loss: float, start: float, learning_rate: float) -> str:
    """What a diverged epoch is told with: what happened, and what to try."""
    return (
        f"Training diverged in epoch {epoch}: the loss went from {start:g} to {loss:g} "
        f"(or a weight became NaN or infinite). Try a smaller learning_rate_init (this "
        f"epoch used {learning_rate:g}), gradient clipping (clipnorm=1.0), or scaled "
        "inputs (e.g. a StandardScaler in a Pipeline)."
    )
