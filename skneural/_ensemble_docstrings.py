"""Docstring text of the parameters of an ensemble of networks (``n_ensemble``,
docs/estimators.md), shared by both estimators: :mod:`skneural._docstrings` appends it
to their other parameters."""

ENSEMBLE_PARAMETERS = """

    n_ensemble : int, default=1
        Number of networks trained together, as one network of ``n_ensemble``
        independent members computed by batched products in one compiled graph.
        Each member has its own initial weights and dropout masks; training
        minimises the sum of the members' losses (each member learns on its own;
        a table's embeddings are shared by the members and trained by all of them),
        and ``loss_curve_`` is their mean loss. Predictions, the early-stopping
        score and the attacks use the averaged prediction: the mean of the members'
        probabilities (classifier) or outputs (regressor). ``coefs_`` and
        ``intercepts_`` then have a leading member axis. 1 is a single network
        (scikit-learn's MLP). Not available with ``solver='lbfgs'``, ``'lars'`` or
        ``'lamb'``, ``clipnorm`` or ``batch_normalization=True``.

    ensemble_sharing : {'none', 'adapters', 'input'}, default='none'
        What the ``n_ensemble`` members share (ignored for a single network), as
        TabM's three ensembles. 'none': nothing, k independent networks (TabM's
        'tabm-packed'). 'adapters': each hidden layer's kernel, through which all
        members' rows pass as one matrix product; each member scales the layer's
        input and output by its own factors (starting at one, the first layer's input
        factors at random signs) and has its own biases (TabM's 'tabm', after
        BatchEnsemble). 'input': the whole hidden network, kernels and biases; each
        member only scales the first layer's input (TabM's 'tabm-mini'). The output
        layer is each member's own in all three. The shared kernels in ``coefs_``
        have no member axis."""
