import os

# Quiet TensorFlow's C++ start-up and graph-optimizer logs in test output only; the
# library itself never touches the environment.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
