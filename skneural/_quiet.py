"""The command line's process, quiet: TensorFlow started without its start-up logs,
and each warning shown once, as one line.

Only the ``skneural`` command uses this: it owns its process. The library never
changes logging, environment variables or warning filters for its users.
"""

import contextlib
import os
import sys
import warnings


def start_tensorflow() -> None:
    """Import TensorFlow with its start-up logs hidden, unless the user asked for them.

    TensorFlow's C++ runtime logs a few lines to file descriptor 2 before its log
    level applies (absl's 'All log messages before absl::InitializeLog()' lines), so
    stderr itself is pointed at /dev/null for the import when the level is 3.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" in sys.modules or os.environ["TF_CPP_MIN_LOG_LEVEL"] != "3":
        import tensorflow  # noqa: F401

        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def warnings_once():
    """Within a command, each distinct warning is shown once, as one line.

    The registry behind the 'once' filter is cleared whenever any code changes the
    filters (scikit-learn's cross-validation does, for each fold), so the command
    remembers what it has shown itself.
    """
    from sklearn.exceptions import ConvergenceWarning

    from .exceptions import DiagnosticWarning

    shown = set()

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        text = str(message).strip().splitlines()[0] if str(message).strip() else ""
        if (category, text) not in shown:
            shown.add((category, text))
            print(f"skneural: warning: {text}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        warnings.filterwarnings("always", category=ConvergenceWarning)
        warnings.filterwarnings("always", category=DiagnosticWarning)
        yield
