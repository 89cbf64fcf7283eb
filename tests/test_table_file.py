"""A table's preprocessing layer in the model file and under attack: saved and
loaded predicting identically, the manifest's table checked, categorical columns
never moved by an attack."""

import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skneural import MLPClassifierX, MLPRegressorX, load, save
from skneural.adversarial import fgsm, pgd
from skneural.exceptions import ModelFileError


def _frame(n=150, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 12, n),
            "job": pd.Series(rng.choice(["cook", "nurse", "pilot"], n), dtype="str"),
            "shop": pd.Categorical([f"shop {i % 12}" for i in range(n)]),
            "kids": pd.array(rng.integers(0, 4, n), dtype="Int64"),
            "owner": rng.random(n) > 0.5,
        }
    )
    frame.loc[::6, "age"] = np.nan
    frame.loc[::9, "kids"] = pd.NA
    frame.loc[::4, "job"] = None
    return frame


def _labels(frame):
    return (
        (frame["job"] == "nurse").to_numpy() ^ (frame["age"].fillna(40) > 40).to_numpy()
    ).astype(int)


@pytest.mark.parametrize(
    "scaling, embedding",
    [
        ("robust", None),
        ("standard", "periodic"),
        ("quantile", "piecewise_linear"),
        (None, None),
        ("robust", "pbld"),
    ],
)
def test_save_and_load_predict_identically(tmp_path, scaling, embedding):
    frame = _frame()
    est = MLPClassifierX(
        hidden_layer_sizes=(6,),
        max_iter=5,
        random_state=0,
        input_scaling=scaling,
        numeric_embedding=embedding,
    )
    est.fit(frame, _labels(frame))
    path = tmp_path / "table.skneural"
    save(est, path)
    loaded = load(path)
    test = _frame(seed=1)
    test.loc[:2, "job"] = "astronaut"
    assert_array_equal(loaded.predict_proba(test), est.predict_proba(test))
    assert loaded._network.table == est._network.table
    assert_array_equal(loaded.embeddings_[2], est.embeddings_[2])
    loaded.partial_fit(test, _labels(test))  # continues with the learned categories
    assert loaded._network.table == est._network.table


def _saved(tmp_path):
    frame = _frame()
    est = MLPRegressorX(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    est.fit(frame, frame["age"].fillna(0).to_numpy())
    path = tmp_path / "good.skneural"
    save(est, path)
    return path


def _edit_table(path, tmp_path, edit):
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(members["skneural.json"])
    fitted = dict(manifest["fitted"]["dict"])
    table = dict(fitted["table"]["dict"])
    edit(table)
    fitted["table"] = {"dict": [[k, v] for k, v in table.items()]}
    manifest["fitted"]["dict"] = [[k, v] for k, v in fitted.items()]
    members["skneural.json"] = json.dumps(manifest).encode()
    crafted = tmp_path / "crafted.skneural"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    crafted.write_bytes(buffer.getvalue())
    return crafted


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda t: t.update(categories=[["b", "a"], t["categories"][1]]), "sorted list"),
        (lambda t: t.update(numeric=[0, 0, 4]), "each input column once"),
        (lambda t: t.update(scaling="evil"), "malformed scaling"),
        (lambda t: t.update(embedding_dims=[0, 10**9]), "embedding_dims"),
        (lambda t: t.update(n_quantiles=-1), "n_quantiles"),
        (lambda t: t.pop("indicators"), "table must have the entries"),
        # Well formed, but not the network in the file.
        (lambda t: t["categories"][1].__setitem__(0, "shop 00"), "not the one"),
        (lambda t: t.update(categories=[["cook", "nurse"], t["categories"][1]]), "wider than"),
    ],
)
def test_a_malformed_or_foreign_table_is_refused(tmp_path, edit, match):
    crafted = _edit_table(_saved(tmp_path), tmp_path, edit)
    with pytest.raises(ModelFileError, match=match):
        load(crafted)


def test_attacks_move_numeric_columns_and_never_categorical_ones():
    frame = _frame()
    y = _labels(frame)
    est = MLPClassifierX(hidden_layer_sizes=(8,), max_iter=20, random_state=0).fit(frame, y)
    for attack in (fgsm, pgd):
        adv = attack(est, frame, y, eps=0.5)
        assert (adv.dtypes == frame.dtypes).all()
        for column in ("job", "shop", "owner"):  # categories and bools never move
            assert adv[column].equals(frame[column])
        present = frame["age"].notna()
        assert frame.loc[~present, "age"].isna().all() and adv.loc[~present, "age"].isna().all()
        moved = np.abs(adv.loc[present, "age"] - frame.loc[present, "age"])
        assert moved.max() == pytest.approx(0.5) and (moved <= 0.5 + 1e-12).all()
        assert adv["kids"].isna().equals(frame["kids"].isna())
    # fgsm's step is the sign of the network's own input gradient, in raw units.
    adv = fgsm(est, frame, y, eps=0.5)
    from skneural._inputs import prediction_input

    x = prediction_input(est, frame, est._network.table)
    with est._network.input_gradients() as gradient:
        g = gradient(x, est._network.targets.encode(y))
    expected = np.where(np.isnan(x[:, 0]), np.nan, x[:, 0] + 0.5 * np.sign(g[:, 0]))
    assert_allclose(adv["age"].to_numpy(float), expected)


def test_adversarial_training_never_moves_category_codes():
    frame = _frame()
    est = MLPClassifierX(hidden_layer_sizes=(4,), max_iter=3, random_state=0, adversarial_eps=0.3)
    est.fit(frame, _labels(frame))
    eps = est._network.plan.objective.adversarial_eps
    assert eps == (0.3, 0.0, 0.0, 0.3, 0.3)


def test_a_wide_vocabulary_saves_and_loads(tmp_path):
    rng = np.random.default_rng(0)
    n = 20_000
    frame = pd.DataFrame({"id": [f"user {i}" for i in range(n)], "x": rng.normal(size=n)})
    est = MLPRegressorX(hidden_layer_sizes=(4,), max_iter=1, random_state=0)
    est.fit(frame, rng.normal(size=n))
    path = tmp_path / "ids.skneural"
    save(est, path)
    loaded = load(path)
    assert loaded._network.table.categories == est._network.table.categories
    assert_array_equal(loaded.predict(frame.head(50)), est.predict(frame.head(50)))


def test_sparse_input_cannot_have_categorical_columns():
    import scipy.sparse as sp

    X = sp.random(20, 3, density=0.5, format="csr", random_state=0)
    est = MLPClassifierX(hidden_layer_sizes=(2,), max_iter=1, categorical_features=[0])
    with pytest.raises(TypeError, match="A sparse X cannot have categorical columns"):
        est.fit(X, np.arange(20) % 2)
