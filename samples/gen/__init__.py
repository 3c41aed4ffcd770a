"""Generator of synthetic 星级上云 applications with ground truth (see samples/README.md).

Every module here is deterministic: randomness comes only from ``random.Random`` /
``numpy.random.Generator`` instances seeded from the application id.
"""
