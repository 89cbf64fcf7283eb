import os

# Quiet TensorFlow's C++ start-up and graph-optimizer logs in test output only; the
# library itself never touches the environment.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# scikit-learn's array-API estimator checks run only in SciPy's array-API mode; turn
# it on for the test process so they run instead of being skipped.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
