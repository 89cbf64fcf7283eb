"""Docstring text shared by both estimators, written once and substituted.

A docstring names a shared section as ``%(name)s``; :func:`fill_doc` fills it in.
The allowed names (activations, solvers, initializers, schedules) and which solver
reads which parameter come from the registries (:mod:`skneural._registry_text`).
"""

from typing import TypeVar

from ._ensemble_docstrings import ENSEMBLE_PARAMETERS
from ._registry_text import REGISTRY_TEXT
from ._table_docstrings import TABLE_PARAMETERS

T = TypeVar("T")

_TEMPLATES = {
    "network_parameters": """\
hidden_layer_sizes : array-like of shape (n_layers - 2,) or int, default=(100,)
        The ith element is the number of units in the ith hidden layer. ``()`` gives
        a network without hidden layers (a linear or logistic model).

    activation : %(activations)s
        Activation of the hidden layers. The first four are scikit-learn's and keep
        its names ('logistic' is the sigmoid, 'identity' no activation).""",
    "training_parameters": """\
solver : %(solvers)s
%(solver_description)s

    alpha : float, default=0.0001
        Strength of the L2 penalty on the weights (not the biases), with
        scikit-learn's scaling: ``alpha / 2 * ||W||^2`` divided by the summed sample
        weight of the batch.

    batch_size : int or 'auto', default='auto'
        Minibatch size; 'auto' is ``min(200, n_samples)``.

    learning_rate : %(schedules)s
        Learning-rate schedule, set before each epoch ``e`` (counted from 0 at the
        start of each ``fit``; ``partial_fit`` continues the count), with
        ``lr0 = learning_rate_init``. scikit-learn's rules: 'invscaling' uses
        ``lr0 / (t + 1) ** power_t`` after the first epoch (``t`` counts samples
        seen); 'adaptive' divides the rate by 5 each time the stopping rule would
        fire, and stops once it is below 1e-6. Beyond scikit-learn: 'exponential'
        uses ``lr0 * lr_decay_rate ** (e / lr_decay_epochs)``, 'step'
        ``lr0 * lr_decay_rate ** (e // lr_decay_epochs)``, and 'cosine'
        ``lr0 * (1 + cos(pi * e / max_iter)) / 2``. With ``warmup_epochs=W``,
        epochs ``e < W`` use ``lr0 * (e + 1) / (W + 1)`` and the schedule starts
        after them (cosine then spans ``max_iter - W`` epochs). Unlike
        scikit-learn, which uses schedules only for ``solver='sgd'``, they apply to
        every solver. The rate of each epoch is in ``history_``.

    learning_rate_init : float, default=0.001
        Initial learning rate.

    power_t : float, default=0.5
        Exponent of the 'invscaling' schedule.

    max_iter : int, default=200
        Maximum number of epochs.

    shuffle : bool, default=True
        Whether to shuffle the samples before each epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds the weight initializers, dropout masks, shuffling and the
        early-stopping split. The seeds are handed to each Keras layer directly; no
        global TensorFlow, Keras or numpy state is read or changed. ``None`` draws
        fresh entropy from the operating system (scikit-learn's MLP would read
        numpy's global generator instead).

    tol : float, default=1e-4
        Tolerance of the stopping rule: training stops when the loss (or, with early
        stopping, the validation score) has not improved by at least ``tol`` for
        more than ``n_iter_no_change`` consecutive epochs (scikit-learn's rule).

    verbose : bool or int, default=False
        0 (False) is silent. 1 (True) shows one progress bar per ``fit``: epochs,
        with the loss, the validation score and the learning rate (tqdm, in a
        terminal or a notebook). 2 also prints scikit-learn's line per epoch, which
        is all ``partial_fit`` shows. Nothing is ever printed by ``predict``.

    warm_start : bool, default=False
        Continue from the previous fit's weights and optimizer state (Adam's moments
        included) instead of starting afresh.

    momentum : float, default=0.9
        Momentum of %(momentum_readers)s, in [0, 1].

    nesterovs_momentum : bool, default=True
        Use Nesterov's momentum with %(nesterov_readers)s (when ``momentum > 0``).

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified for
        classifiers where every class can be represented), stop when its score
        (``scoring``; by default accuracy or R²) stops improving, and restore the
        weights of the best epoch. When the held-out set would have fewer than 2
        samples, a warning is issued and training uses all the data. ``partial_fit`` ignores it, as
        scikit-learn's ``SGDClassifier.partial_fit`` does.

    validation_fraction : float, default=0.1
        Fraction of the training data held out for early stopping.

    scoring : str, callable or None, default=None
        What early stopping scores the held-out data by, each epoch, to decide
        whether it improved and which epoch's weights to keep (higher is better).
        None: scikit-learn's MLP rule, accuracy for a classifier and R² for a
        regressor. 'loss': the held-out loss (the loss minimised, without the
        penalty), as HistGradientBoosting's ``scoring='loss'``. Any other string: a
        scikit-learn scorer name such as 'roc_auc', 'neg_log_loss' or
        'neg_root_mean_squared_error' (``sklearn.metrics.get_scorer_names()``). A
        callable: a scorer ``scorer(estimator, X, y)``, given a view of the network
        at that epoch with ``predict``, ``predict_proba`` and ``classes_`` (the rows
        of ``X`` are indices into the held-out set). Only used with
        ``early_stopping=True``.

    beta_1 : float, default=0.9
        Decay of the first-moment estimate of the Adam family and 'lamb'; 'lion''s
        interpolation factor.

    beta_2 : float, default=0.999
        Decay of the second-moment estimate of the Adam family and 'lamb'; 'lion''s
        momentum decay (Lion's authors use 0.99).

    epsilon : float, default=1e-8
%(epsilon_description)s

    n_iter_no_change : int, default=10
        Number of epochs without improvement by ``tol`` before stopping.

    max_fun : int, default=15000
        Maximum number of objective evaluations of the 'lbfgs' solver (scipy's
        ``maxfun``); the other solvers do not read it.""",
    "extra_parameters": """\
kernel_initializer : str or keras.initializers.Initializer, default='glorot_uniform'
%(initializer_description)s

    dropout : float or sequence of float, default=0.0
        Dropout rate after each hidden layer's activation, one rate for all hidden
        layers or one per layer. Active only while training.

    l1 : float, default=0.0
        Strength of an L1 penalty on the weights, scaled like ``alpha``:
        ``l1 * |W|_1`` divided by the summed sample weight of the batch.

    batch_normalization : bool, default=False
        Insert a batch-normalization layer between each hidden Dense layer and its
        activation.

    batch_norm_momentum : float, default=0.9
        Momentum of batch normalization's moving mean and variance (used at
        prediction): ``moving = momentum * moving + (1 - momentum) * batch``. 0.9
        is PyTorch's default; Keras's 0.99 lags behind the weights for hundreds of
        steps, and a small data set trained for few epochs then predicts poorly.

    weight_decay : float or None, default=None
        Decoupled weight decay passed to the Keras optimizer; None keeps the
        optimizer's own default (0.004 for 'adamw', none for the others).

    rho : float, default=0.9
%(rho_description)s

    residual : bool, default=False
        Skip connections: a hidden layer as wide as the one before it outputs
        ``x + block(x)``, where ``block`` is its Dense, batch-norm, activation and
        dropout. The remedy for deep networks that train poorly.

    clipnorm : float or None, default=None
        Clip each weight's gradient to this L2 norm before the optimizer step (per
        variable, as Keras's ``clipnorm``). Cannot be combined with ``clipvalue``.

    clipvalue : float or None, default=None
        Clip every gradient component to ``[-clipvalue, clipvalue]``.

    lars_eta : float, default=0.001
        Trust coefficient of 'lars': a layer's step is scaled by
        ``lars_eta * ||w|| / (||g|| + weight_decay * ||w||)``.

    lr_decay_rate : float, default=0.5
        Factor by which 'exponential' and 'step' reduce the learning rate every
        ``lr_decay_epochs`` epochs, in (0, 1].

    lr_decay_epochs : int, default=10
        Epochs per ``lr_decay_rate`` reduction of 'exponential' and 'step'.

    warmup_epochs : int, default=0
        Epochs of linear learning-rate warm-up before the schedule starts.

    adversarial_eps : float or array-like of shape (n_features,), default=0.0
        Adversarial training (Goodfellow et al., 2015): when > 0, a share
        ``adversarial_ratio`` of every batch is replaced by fast-gradient-sign
        examples ``x + adversarial_eps * sign(grad_x loss)``, made inside the
        compiled step with the current weights. In the units of the estimator's
        input (after any scaler before it in a Pipeline); one value per feature
        allowed. 0 turns it off.

    adversarial_ratio : float, default=0.5
        Share of each batch replaced by adversarial examples, in (0, 1]."""
    + ENSEMBLE_PARAMETERS
    + TABLE_PARAMETERS,
    "fitted_attributes": """\
loss_ : float
        The loss of the last epoch.

    best_loss_ : float or None
        The smallest training loss reached; None with ``early_stopping=True``.

    loss_curve_ : list of float
        The training loss of each epoch (continued by warm starts and
        ``partial_fit``). An epoch that diverged (NaN or infinite loss) is undone
        and not included.

    validation_scores_ : list of float or None
        The validation score of each epoch with ``early_stopping=True``, else None.

    best_validation_score_ : float or None
        The best validation score with ``early_stopping=True``, else None.

    t_ : int
        Number of training samples seen.

    coefs_ : list of ndarray of shape (n_units_in, n_units_out)
        The Dense kernels, input layer first. As in scikit-learn, editing or
        assigning them changes what ``predict`` computes and where ``partial_fit``
        or a warm start continues from. With ``n_ensemble`` k > 1, each has shape
        (k, n_units_in, n_units_out): member ``m``'s kernels are ``coefs_[i][m]``
        (a kernel the members share, ``ensemble_sharing``, keeps its 2-D shape).

    intercepts_ : list of ndarray of shape (n_units_out,)
        The Dense biases, input layer first (editable like ``coefs_``); shape
        (k, n_units_out) with ``n_ensemble`` k > 1 (but for the biases the members
        share with ``ensemble_sharing='input'``).

    embeddings_ : dict of int to ndarray of shape (n_codes, n_values)
        The learned embedding table of each embedded categorical column, by the
        column's position in X (rows: 'other', missing, then the categories in
        sorted order). Empty when no column is embedded.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string column names.

    n_iter_ : int
        Number of epochs run by the last call to ``fit`` or ``partial_fit``.

    n_layers_ : int
        Number of layers, input and output included.

    n_outputs_ : int
        Number of output units.

    out_activation_ : str
        Name of the output activation.

    model_ : keras.Model
        The trained Keras network; ``model_.optimizer`` holds the optimizer state
        that warm starts continue from. Most fits keep their weights and optimizer
        state as arrays and build this model when it is first read (the same values
        and configuration; a grid search never pays for it).

    history_ : pandas.DataFrame
        One row per epoch run (index ``epoch``, from 1): ``loss``, ``learning_rate``,
        and with early stopping ``val_loss`` and ``val_score``. A diverged epoch is
        its last row, with its exploded or non-finite loss.

    gradient_norms_ : pandas.DataFrame
        Diagnostics: the L2 norm of each Dense kernel's gradient (columns
        ``hidden_0``, ..., ``output``), averaged over each epoch's steps (rows as
        in ``history_``). Orders of magnitude between the first and the last column
        are vanishing or exploding gradients; a
        :class:`~skneural.exceptions.DiagnosticWarning` says so after ``fit``.

    dead_units_ : pandas.DataFrame
        Diagnostics: for each hidden layer (columns) and epoch (rows), the fraction
        of its units whose output was exactly zero for every training sample of
        the epoch: dead ReLUs. (Other activations are rarely exactly zero.)""",
}


_SECTIONS = {name: text % REGISTRY_TEXT for name, text in _TEMPLATES.items()}


def fill_doc(obj: T) -> T:
    """Substitute the shared sections into ``obj.__doc__``."""
    obj.__doc__ = obj.__doc__ % _SECTIONS
    return obj
