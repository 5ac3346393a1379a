"""Background work on the Qt side: threads, lanes, the training run."""
