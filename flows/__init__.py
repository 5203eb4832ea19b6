"""Prefect wiring only: every function the flows call lives in synth/, pipelines/ or trainers/."""
