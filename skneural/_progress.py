"""What ``verbose`` shows while the training loop runs."""

from ._plan import StoppingRule


class Progress:
    """What ``verbose`` shows: with 1, one progress bar per ``fit`` (epochs, with the
    loss, validation score and learning rate; tqdm, so it works in terminals and
    notebooks); with 2 or more, also scikit-learn's line per epoch. ``partial_fit``
    runs one epoch, so it gets the lines only."""

    def __init__(self, rule: StoppingRule, incremental: bool):
        self._lines = rule.verbose >= 2 or (incremental and rule.verbose >= 1)
        self._bar = None
        if rule.verbose >= 1 and not incremental:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=rule.max_iter, unit="epoch", desc="fit", leave=True)

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.close()

    def say(self, message: str) -> None:
        if not self._lines:
            return
        if self._bar is not None:
            self._bar.write(message)
        else:
            print(message)

    def update(self, row: dict[str, float]) -> None:
        if self._bar is None:
            return
        shown = {"loss": row["loss"], "lr": row["learning_rate"]}
        if "val_score" in row:
            shown["val_score"] = row["val_score"]
        self._bar.set_postfix({k: f"{v:.4g}" for k, v in shown.items()}, refresh=False)
        self._bar.update(1)
