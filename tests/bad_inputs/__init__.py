"""The bad-input corpus: generate.py builds it, harness.py screens one case (tests and bench)."""
