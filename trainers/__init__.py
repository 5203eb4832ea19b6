"""Turn a dataset into a sentence encoder and numbers: losses, the trainer, the STS evaluator."""
