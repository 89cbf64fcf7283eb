"""TensorFlow's thread pools in the worker processes of a parallel search.

joblib's loky backend and Dask give each worker process its share of the cores by
setting ``OMP_NUM_THREADS`` (and the BLAS libraries' equivalents) in its environment.
TensorFlow ignores those: it sizes its own intra-op and inter-op pools once, when its
runtime starts, from ``TF_NUM_INTRAOP_THREADS`` / ``TF_NUM_INTEROP_THREADS`` or else
from the machine's core count, so that two workers on two cores each start two pools
as large as the machine and oversubscribe it. When skneural is imported in such a
worker, before TensorFlow's runtime has started, it sizes both pools to the worker's
share instead. It changes nothing in any other process (the user's own included), nor
where the ``TF_NUM_*`` variables or TensorFlow's threading settings were set.
"""

import multiprocessing
import os

#: Names of the worker processes of joblib's loky backend and of Dask's nannies.
WORKER_PROCESSES = ("LokyProcess", "Dask Worker process")
_TF_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def share_workers_threads() -> None:
    """In a loky or Dask worker, size TensorFlow's pools to ``OMP_NUM_THREADS``."""
    if not multiprocessing.current_process().name.startswith(WORKER_PROCESSES):
        return
    share = os.environ.get("OMP_NUM_THREADS", "")
    if not share.isdigit() or int(share) < 1 or any(v in os.environ for v in _TF_VARIABLES):
        return
    import tensorflow as tf  # only in a worker: skneural's import does not start TF

    threading = tf.config.threading
    try:
        if threading.get_intra_op_parallelism_threads() == 0:  # 0: not chosen by anyone
            threading.set_intra_op_parallelism_threads(int(share))
        if threading.get_inter_op_parallelism_threads() == 0:
            threading.set_inter_op_parallelism_threads(int(share))
    except RuntimeError:  # the runtime started already: its pools are fixed
        pass
