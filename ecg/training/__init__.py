"""Building data sets, training, evaluating and reporting the shipped models (needs TensorFlow)."""
