"""A measurement behind docs/performance.md, (j): would one epoch graph for every depth
pay for itself? Plain TensorFlow, no skneural: the same minibatch SGD epochs on
digits (1,198 rows, batches of 256, 30 epochs, ReLU, softmax cross-entropy), the
weights in one flat vector of any length, traced either once per depth (the layers
unrolled, their widths read from a variable, as skneural's width-free workspace) or
once for all depths (a ``tf.while_loop`` over the layers).

    python benchmarks/depth_free.py unrolled
    python benchmarks/depth_free.py free

Prints, per network, the first call's time (a trace where the graph is new) and the
median of five repeat fits. Run each mode in a fresh process, alternated.
"""

import sys
import time

import numpy as np
import tensorflow as tf
from sklearn.datasets import load_digits

X, y = load_digits(return_X_y=True)
X = (X[:1198] / 16).astype(np.float32)
Y = np.eye(10, dtype=np.float32)[y[:1198]]
mode = sys.argv[1]
BATCH, EPOCHS = 256, 30
flat = tf.Variable(tf.zeros([0]), shape=[None])
widths_v = tf.Variable(tf.zeros([0], tf.int32), shape=[None])


def unrolled_loss(depth):
    # One graph per depth, any widths (read from widths_v), as skneural's workspace.
    def loss_fn(w, x, yb):
        h, o = x, 0
        for i in range(depth + 1):
            a, b = widths_v[i], widths_v[i + 1]
            k = tf.reshape(w[o : o + a * b], tf.stack([a, b]))
            bias = w[o + a * b : o + a * b + b]
            h = tf.nn.bias_add(tf.matmul(h, k), bias)
            if i < depth:
                h = tf.nn.relu(h)
            o = o + a * b + b
        return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(yb, h))

    return loss_fn


def free_loss(w, x, yb):
    # One graph for every depth: a loop over the layers of widths_v ([in, ..., out]).
    n_layers = tf.shape(widths_v)[0] - 1

    def body(i, o, h):
        a, b = widths_v[i], widths_v[i + 1]
        k = tf.reshape(w[o : o + a * b], tf.stack([a, b]))
        bias = w[o + a * b : o + a * b + b]
        z = tf.nn.bias_add(tf.matmul(h, k), bias)
        z = tf.where(i < n_layers - 1, tf.nn.relu(z), z)
        return i + 1, o + a * b + b, z

    _, _, h = tf.while_loop(
        lambda i, o, h: i < n_layers,
        body,
        (0, 0, x),
        shape_invariants=(tf.TensorShape([]), tf.TensorShape([]), tf.TensorShape([None, None])),
    )
    return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(yb, h))


def make_epochs(loss_fn):
    @tf.function(
        autograph=False,
        input_signature=[
            tf.TensorSpec([None, 64]),
            tf.TensorSpec([None, 10]),
            tf.TensorSpec([None, None], tf.int32),
        ],
    )
    def run(Xt, Yt, orders):
        def epoch(e, _):
            order = orders[e]
            n = tf.shape(order)[0]
            nb = (n + BATCH - 1) // BATCH

            def step(i, total):
                idx = order[i * BATCH : tf.minimum((i + 1) * BATCH, n)]
                x, yb = tf.gather(Xt, idx), tf.gather(Yt, idx)
                with tf.GradientTape() as tape:
                    w = flat.read_value()
                    tape.watch(w)
                    loss = loss_fn(w, x, yb)
                g = tape.gradient(loss, w)
                flat.assign_sub(0.1 * g)
                return i + 1, total + loss

            _, tot = tf.while_loop(lambda i, t: i < nb, step, (0, 0.0))
            return e + 1, tot

        return tf.while_loop(lambda e, _: e < tf.shape(orders)[0], epoch, (0, 0.0))[1]

    return run


rng = np.random.default_rng(0)


def init(widths):
    total = sum(a * b + b for a, b in zip(widths[:-1], widths[1:], strict=True))
    flat.assign(rng.normal(scale=0.1, size=total).astype(np.float32))
    widths_v.assign(np.array(widths, np.int32))


orders = tf.constant(np.stack([rng.permutation(1198) for _ in range(EPOCHS)]).astype(np.int32))
Xt, Yt = tf.constant(X), tf.constant(Y)
free = make_epochs(free_loss) if mode == "free" else None
cache = {}
out = []
for sizes in [(64,), (64, 64), (128,), (128, 64), (64,), (64, 64)]:
    widths = [64, *sizes, 10]
    init(widths)
    t = time.perf_counter()
    if mode == "free":
        fn = free
    else:
        if len(sizes) not in cache:
            cache[len(sizes)] = make_epochs(unrolled_loss(len(sizes)))
        fn = cache[len(sizes)]
    fn(Xt, Yt, orders).numpy()
    first = time.perf_counter() - t
    ts = []
    for _ in range(5):
        init(widths)
        t = time.perf_counter()
        fn(Xt, Yt, orders).numpy()
        ts.append(time.perf_counter() - t)
    out.append(f"{sizes}: first {first:.3f} rep {np.median(ts) * 1000:.1f}ms")
print(mode, " | ".join(out))
