"""Learning-rate schedules: the rate each epoch trains with.

The learning rate is a variable of the compiled training graph, so a schedule only
sets a number before each epoch; no schedule recompiles anything. Epochs are counted
from the start of the current ``fit`` (``partial_fit`` calls continue the count), as
scikit-learn restarts its optimizer at every ``fit``.
"""

import math
from dataclasses import dataclass

#: The ``learning_rate`` values. The first three are scikit-learn's, with its rules.
SCHEDULES = ("constant", "invscaling", "adaptive", "exponential", "step", "cosine")

# scikit-learn's 'adaptive' schedule stops once the learning rate falls to this value.
_MIN_ADAPTIVE_LEARNING_RATE = 1e-6


@dataclass(frozen=True)
class Schedule:
    """One schedule and its settings, from the estimator's parameters.

    Parameters
    ----------
    kind : str
        One of :data:`SCHEDULES`.
    learning_rate_init : float
        The rate the schedule starts from (and warms up to).
    power_t : float
        Exponent of 'invscaling'.
    decay_rate : float
        Factor of 'exponential' and 'step' per ``decay_epochs`` epochs.
    decay_epochs : int
        Epochs over which the rate falls by ``decay_rate``.
    warmup_epochs : int
        Epochs of linear warm-up before any schedule starts.
    n_epochs : int
        ``max_iter``: the epoch at which 'cosine' reaches zero.
    """

    kind: str
    learning_rate_init: float
    power_t: float = 0.5
    decay_rate: float = 0.5
    decay_epochs: int = 10
    warmup_epochs: int = 0
    n_epochs: int = 200

    def rate(self, epoch: int, t: int, adaptive_rate: float) -> float:
        """The learning rate of epoch ``epoch`` (0 = the first since ``fit`` started).

        ``t`` is the number of samples seen before this epoch (scikit-learn's ``t_``,
        for 'invscaling'); ``adaptive_rate`` is the current rate of 'adaptive', which
        :meth:`on_plateau` lowers.
        """
        init = self.learning_rate_init
        if epoch < self.warmup_epochs:
            return init * (epoch + 1) / (self.warmup_epochs + 1)
        epoch -= self.warmup_epochs
        if self.kind == "adaptive":
            return adaptive_rate
        if self.kind == "invscaling":
            # scikit-learn's optimizer starts every fit at the initial rate and sets
            # init / (t + 1) ** power_t after each epoch.
            if epoch == 0:
                return init
            try:
                return init / (t + 1) ** self.power_t
            except OverflowError:  # (t + 1) ** power_t is beyond any float
                return 0.0
        if self.kind == "exponential":
            return init * self.decay_rate ** (epoch / self.decay_epochs)
        if self.kind == "step":
            return init * self.decay_rate ** (epoch // self.decay_epochs)
        if self.kind == "cosine":
            span = max(self.n_epochs - self.warmup_epochs, 1)
            return init * 0.5 * (1.0 + math.cos(math.pi * min(epoch, span) / span))
        return init

    def on_plateau(self, adaptive_rate: float) -> float | None:
        """What to do when the stopping rule's patience runs out (scikit-learn's
        ``trigger_stopping``): 'adaptive' divides its current rate by 5 and training
        goes on with the returned rate, until the rate is down to 1e-6; then, and for
        every other schedule, None: stop."""
        if self.kind == "adaptive" and adaptive_rate > _MIN_ADAPTIVE_LEARNING_RATE:
            return adaptive_rate / 5.0
        return None
