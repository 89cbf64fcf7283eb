"""One peer's (a) or (b) fit measured alone in its process (after the scenario's warm-up
fit), twice: to compare versions of skneural, or skneural with the TF loop, without the
other peers of the shared-process scenarios around it (docs/performance.md, (a), (b)).

    python benchmarks/fit_alone.py ROOT {sx,loop} [regression|classification]

ROOT is the checkout whose ``benchmarks`` folder is used; put the same checkout first on
PYTHONPATH to measure its skneural. Run each version in fresh processes, alternated.
"""

import sys
import time
import warnings


def main(root: str, who: str, task: str) -> None:
    sys.path.insert(0, root + "/benchmarks")
    import peers as P
    import scenarios as S
    import workloads as W

    peer = {"sx": P.SKNEURAL, "loop": next(p for p in P.TRAINING_PEERS if p.name == "TF loop")}
    cfg = W.Config()
    X, y = W.regression(cfg) if task == P.REGRESSION else W.classification(cfg)
    S.warm_up(task, X, y)(peer[who])
    seconds = []
    for _ in range(2):
        start = time.perf_counter()
        S.fit(peer[who], task, cfg.train_epochs, X, y)
        seconds.append(time.perf_counter() - start)
    print(who, root, task, " ".join(f"{s:.2f}" for s in seconds))


if __name__ == "__main__":
    warnings.filterwarnings("ignore")
    main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "regression")
