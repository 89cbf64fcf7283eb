"""Numbers a compiled graph reads from variables, assigned only when they change.

The workspaces' graphs take a fit's numbers (the optimizer's betas and epsilon, the
penalties, which activation and which step a switch picks) as variables, so that
one graph serves a grid over them. Consecutive fits of a search mostly set the same
values, and an eager assignment costs ~50-70 us: a fit's dozen of them are a few
percent of a small fit. The graphs only read these variables.
"""

import numpy as np
import tensorflow as tf


class Settings:
    """The values last assigned to variables that only :meth:`assign` writes."""

    def __init__(self):
        self._held: dict[int, bytes] = {}

    def assign(self, variable: tf.Variable, value) -> None:
        """Give ``variable`` ``value`` (in its dtype) unless it holds it already."""
        value = np.asarray(value, variable.dtype.as_numpy_dtype)
        # Compared bit for bit: -0.0 and 0.0, or two NaNs, are not taken for each other.
        held = value.tobytes()
        if self._held.get(id(variable)) != held:
            variable.assign(value)
            self._held[id(variable)] = held
