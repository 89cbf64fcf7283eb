"""Which width-free graph trains a fit: the key of :mod:`skneural._shapeless`'s graphs.

A width-free workspace's epoch graph serves every width of a network; what still
changes its ops is in the key :func:`shapeless_key` gives, and fits of one key share a
graph (and a pooled workspace, :mod:`skneural._pool`). On small data the activation
and the optimizer's step are graph inputs, so that a grid over them shares one graph.
"""

from ._config import NetworkSpec, residual_blocks
from ._network import table_layer
from ._network_arrays import NetworkArrays
from ._plan import Objective
from ._updates import SWITCHED_STEPS, update_rule

#: The layers (by name prefix) the width-free workspace knows how to apply (a table's
#: preprocessing, ``table``, outside the graph: see :func:`shapeless_key`).
_LAYERS = ("input", "table", "hidden_", "activation_", "dropout_", "residual_", "output")

#: Hidden activations one graph picks from by a graph input (scikit-learn's four);
#: an empty tuple compiles a graph per activation.
SWITCHED = ("identity", "logistic", "tanh", "relu")

#: The switch costs ~10-30 us per step (+1-1.4% of a digits fit's CPU, +4-10% on
#: 13,000 x 50 with (128, 64)) and saves a compile (~0.2-0.3 s of CPU) per activation
#: of a search: fits on more training rows than this get a graph of their activation
#: alone (bit for bit the same results).
SWITCH_MAX_ROWS = 5000

#: The activation of a key whose graph switches between :data:`SWITCHED`.
SWITCH = "switched"


def shapeless_key(
    spec: NetworkSpec, source, objective: Objective, strategy, n_rows: int
) -> tuple | None:
    """What fixes the width-free graph that trains ``source`` (a Keras model built
    from ``spec``, or :class:`~skneural._network_arrays.NetworkArrays`) for
    ``objective`` on ``n_rows`` rows, or None where this workspace does not serve the
    fit.

    The activation is a graph input when it is one of :data:`SWITCHED`, the data
    has at most :data:`SWITCH_MAX_ROWS` rows and the objective has no L1 term: with
    one, grappler sums a kernel's three gradient terms in another order around the
    switch than without it (the last bits of float32 weights), so such fits get a
    graph of their activation alone. On as many rows the optimizer's step is a graph
    input too, when it is one of :data:`~skneural._updates.SWITCHED_STEPS` (Adam and
    SGD's three kinds share a graph, with or without weight decay).

    A table's network trains here on as many rows when its preprocessing layer has no
    weights to train (no embedding) and no adversarial example perturbs its input:
    the layer's output, computed once per fit, is then the graph's input
    (:attr:`~skneural._shapeless.ShapelessWorkspace.features`). Its attacks
    (``n_rows`` 0) need the layer in the graph.
    """
    if strategy is not None or spec.batch_normalization or spec.n_ensemble > 1:
        return None
    if isinstance(source, NetworkArrays):
        rule = source.rule
    else:
        rule = update_rule(source.optimizer)
        if rule is None or not all(layer.name.startswith(_LAYERS) for layer in source.layers):
            return None
        table = table_layer(source)
        if table is not None and (
            table.trainable_weights
            or objective.adversarial_eps is not None
            or not 0 < n_rows <= SWITCH_MAX_ROWS
        ):
            return None
    switched_step = n_rows <= SWITCH_MAX_ROWS and rule.structure[:-1] in SWITCHED_STEPS
    return (
        spec.dtype,
        SWITCH if _switched(spec, objective, n_rows) else spec.activation,
        tuple(rate > 0 for rate in spec.dropout),  # the rates are graph inputs
        residual_blocks(spec),
        spec.out_activation,
        (SWITCH, rule.structure[-1]) if switched_step else rule.structure,
    )


def _switched(spec: NetworkSpec, objective: Objective, n_rows: int) -> bool:
    return spec.activation in SWITCHED and objective.l1 == 0 and n_rows <= SWITCH_MAX_ROWS
