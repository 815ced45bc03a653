"""Framework-free ECG pipeline: I/O -> signal processing -> imaging -> model -> train/evaluate.

Nothing in this package imports Django; the web app calls into it, never the other way round.
"""
