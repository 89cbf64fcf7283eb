"""Docstring text of the parameters that read a table's columns (docs/tabular.md),
shared by both estimators: :mod:`skneural._docstrings` appends it to their other
parameters."""

TABLE_PARAMETERS = """

    categorical_features : 'from_dtype', array-like of str, int or bool, or None, \
default='from_dtype'
        Which columns of X are categories rather than numbers. 'from_dtype' takes a
        DataFrame's columns of text (``str``, ``string``, ``object``) or ``category``
        dtype; numeric arrays and numeric or bool DataFrames have none. Also column
        names, positions or a boolean mask; None has none. The network learns each
        categorical column's categories in ``fit`` (matched by their text; missing
        is a category of its own) and encodes them inside itself: one-hot up to 9
        categories, else an embedding of ``min(32, round(1.6 * n ** 0.56))`` values
        for ``n`` codes (``embeddings_``). A category unseen in fit (or rarer than
        ``min_frequency``) reads as a reserved 'other' code (docs/tabular.md).

    min_frequency : int, float or None, default=None
        Categories seen fewer times in fit than this count (an int), or this share
        of the samples (a float in (0, 1)), read as 'other'. None keeps them all.

    input_scaling : {'auto', 'standard', 'robust', 'quantile', None}, default='auto'
        Scaling of the numeric columns inside the network, learned in ``fit`` (the
        first ``partial_fit``): 'standard' ``(x - mean) / std``; 'robust'
        ``z = (x - median) / IQR`` then ``z / sqrt(1 + (z / 3) ** 2)`` (RealMLP's
        smooth clipping); 'quantile' to a normal distribution through 1,000
        quantiles (scikit-learn's QuantileTransformer). None leaves the values as
        they are. 'auto' is 'standard' for a table with categorical columns or
        missing values (the best on adult, docs/tabular.md) or with a
        ``numeric_embedding``, and None otherwise, so numeric data trains exactly
        as with scikit-learn's MLP. Missing values (NaN, None, pd.NA) of a numeric
        column are filled with its median in fit, and a column that had missing
        values in fit also gets a 0/1 missing indicator.

    numeric_embedding : {None, 'pbld', 'periodic', 'piecewise_linear'}, default=None
        Each numeric column, filled and scaled, as a vector (Gorishniy et al., 2022).
        'pbld' (RealMLP's, Holzmueller et al., 2024): the value, beside a linear map
        of its own to 3 values from cosines of 16 learned frequencies with learned
        phases. 'periodic': sines and cosines of 48 learned frequencies, then a linear
        layer per column to 24 values and a ReLU. 'piecewise_linear': 16 bins between
        the column's quantiles in fit, each filled as far as the value reaches into it."""
