"""yunshen (云审): the domain model, rules and orchestration-free logic of the screening pipeline."""

__version__ = "0.1.0"
