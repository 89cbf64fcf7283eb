"""A fitted network's state as numpy arrays, and its Keras model made only on demand.

Building a fit's own Keras model and its optimizer's slot variables costs ~20-25 ms
(about 1 ms per TensorFlow variable), a quarter of a small fit, and in a grid search
nobody ever looks at those models: the epochs train on a pooled width-free workspace
(:mod:`skneural._shapeless`) and ``predict`` runs in numpy. So a fit that such a
workspace serves keeps its weights, optimizer slots, step count, learning rate and
dropout seed states as :class:`NetworkArrays`, and the Keras model is built from them
when something asks for it (``model_``, the model file, a Keras workspace, L-BFGS).

The arrays hold exactly what the Keras model would: the initial weights are drawn
with the seeds and the ops :func:`skneural._network.build_network` uses (the model
built later replays the same seeds, so its configuration is the one a fit always
made), and the state goes to and from the workspace's variables as the model's did.
"""

import dataclasses
import functools

import keras
import numpy as np
import tensorflow as tf

from ._config import NetworkSpec, draw_seed
from ._network import build_network, compile_network, dense_layers
from ._plan import OptimizerPlan, Plan
from ._registry import LBFGS, make_initializer
from ._updates import UpdateRule, update_rule


@functools.lru_cache(maxsize=64)
def plan_rule(optimizer: OptimizerPlan) -> UpdateRule | None:
    """The written-out step of the optimizer ``optimizer`` builds, or None."""
    if optimizer.solver == LBFGS:
        return None
    return update_rule(optimizer.build(learning_rate=0.1))


def serves(plan: Plan) -> bool:
    """Whether a new fit of ``plan`` keeps its state as arrays: the networks and
    optimizers a width-free workspace trains, outside any ``tf.distribute`` scope."""
    spec = plan.network
    if (
        spec.table is not None
        or spec.batch_normalization
        or spec.n_ensemble > 1
        or tf.distribute.has_strategy()
    ):
        return False
    try:
        return plan_rule(plan.optimizer) is not None
    except TypeError:  # a setting that cannot be a cache key
        return False


@dataclasses.dataclass
class NetworkArrays:
    """The state of one network and its optimizer, as arrays.

    ``values`` lists, in the order of a width-free workspace's ``state``: the Dense
    kernels and biases (input to output, kernel then bias), the optimizer's slots (one
    kind after the other, each aligned with the weights), the step count, the
    learning rate, and each dropout layer's seed state. ``seeds`` is the generator
    state the network's seeds were drawn from (the Keras model replays it).
    """

    spec: NetworkSpec
    rule: UpdateRule
    values: list[np.ndarray]
    seeds: dict

    @classmethod
    def initial(cls, plan: Plan, rng: np.random.Generator, learning_rate: float) -> "NetworkArrays":
        """The untrained state :func:`build_network` and a new optimizer would hold,
        drawn from ``rng`` as ``build_network`` draws (``rng`` advances alike)."""
        spec = plan.network
        rule = plan_rule(plan.optimizer)
        seeds = rng.bit_generator.state
        widths = [spec.n_features, *spec.hidden_layer_sizes, spec.n_outputs]
        kernel_seeds, seed_states = [], []
        for rate in spec.dropout:
            kernel_seeds.append(draw_seed(rng))
            if rate > 0:
                seed_states.append(np.asarray([draw_seed(rng), 0], _seed_dtype()))
        kernel_seeds.append(draw_seed(rng))
        weights = []
        for seed, fan_in, fan_out in zip(kernel_seeds, widths, widths[1:], strict=False):
            initializer = make_initializer(spec.kernel_initializer, seed)
            # float32 kernels are drawn in float64 and cast (_draw_kernels_in_float64).
            kernel = keras.ops.cast(initializer((fan_in, fan_out), dtype="float64"), spec.dtype)
            weights += [keras.ops.convert_to_numpy(kernel), np.zeros(fan_out, spec.dtype)]
        return cls(spec, rule, _fresh_state(rule, weights, learning_rate, seed_states), seeds)

    @property
    def n_weights(self) -> int:
        return 2 * (len(self.spec.hidden_layer_sizes) + 1)

    def dense_weights(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The kernels and the biases, input to output (the arrays themselves)."""
        weights = self.values[: self.n_weights]
        return weights[0::2], weights[1::2]

    def set_dense_weights(self, kernels: list[np.ndarray], biases: list[np.ndarray]) -> None:
        """Make ``kernels`` and ``biases`` (of the right shapes and dtype) the weights."""
        weights = [w for pair in zip(kernels, biases, strict=True) for w in pair]
        self.values[: self.n_weights] = [np.array(w, copy=True) for w in weights]

    def reset_optimizer(self, plan: Plan, learning_rate: float) -> None:
        """A new optimizer for ``plan`` (a warm start that changed its settings):
        new slots, a zero step count, the initial learning rate."""
        weights = self.values[: self.n_weights]
        seed_states = self.values[len(self.values) - self._n_seed_states() :]
        self.rule = plan_rule(plan.optimizer)
        self.values = _fresh_state(self.rule, weights, learning_rate, seed_states)

    def _n_seed_states(self) -> int:
        return sum(rate > 0 for rate in self.spec.dropout)

    def to_model(self, plan: Plan) -> keras.Model:
        """The Keras model (compiled, its optimizer built) holding this state."""
        rng = np.random.default_rng()
        rng.bit_generator.state = self.seeds
        model = build_network(plan.network, rng)
        compile_model(model, plan)
        for variable, value in zip(model_state(model), self.values, strict=True):
            variable.assign(value)
        return model


def _fresh_state(rule: UpdateRule, weights: list, learning_rate: float, seed_states: list) -> list:
    """:class:`NetworkArrays`' values for ``weights`` and a new optimizer of ``rule``."""
    return [
        *weights,
        *rule.initial_slots(weights),
        np.asarray(0, np.int64),
        np.asarray(learning_rate, keras.config.floatx()),
        *seed_states,
    ]


def model_state(model: keras.Model) -> list:
    """The variables of ``model`` and its optimizer that :class:`NetworkArrays`
    holds, in its order."""
    optimizer = model.optimizer
    weights = [w for layer in dense_layers(model) for w in (layer.kernel, layer.bias)]
    slots = update_rule(optimizer).slots(optimizer, weights)
    dropout = [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    return [
        *weights,
        *(v for kind in slots for v in kind),
        optimizer.iterations,
        optimizer.learning_rate,
        *(layer.seed_generator.state for layer in dropout),
    ]


def join_slots(values: list, n_weights: int, n_slots: int) -> list:
    """``values`` in :func:`model_state`'s order with each kind of slot joined into one
    flat vector (the weights in order, each flattened), as a width-free workspace
    keeps them (:mod:`skneural._shapeless`)."""
    w, k = n_weights, n_slots
    # In numpy: a few eager TensorFlow ops per weight cost ~1 ms a fit.
    flat = [
        np.concatenate([np.ravel(v) for v in values[w + i * w : w + (i + 1) * w]]) for i in range(k)
    ]
    return [*values[:w], *flat, *values[w + k * w :]]


def split_slots(values: list, n_weights: int, n_slots: int) -> list:
    """The inverse of :func:`join_slots`, on numpy arrays."""
    w, k = n_weights, n_slots
    weights = values[:w]
    ends = np.cumsum([weight.size for weight in weights])[:-1]
    slots = [
        part.reshape(weight.shape)
        for flat in values[w : w + k]
        for part, weight in zip(np.split(flat, ends), weights, strict=True)
    ]
    return [*weights, *slots, *values[w + k :]]


def compile_model(model: keras.Model, plan: Plan, optimizer=None) -> None:
    """Give ``model`` ``optimizer`` (by default a new one of ``plan``), its slot
    variables built (an optimizer built already keeps its state)."""
    if optimizer is None:
        optimizer = plan.optimizer.build(plan.schedule.learning_rate_init)
    compile_network(model, optimizer)
    if not optimizer.built:
        optimizer.build(model.trainable_variables)


@functools.cache
def _seed_dtype() -> str:
    """The dtype of Keras's seed states (backend-dependent), from a probe made once."""
    return keras.random.SeedGenerator(0).state.dtype
