"""dlwild: reproductions of the ZHAW Datalab pattern-recognition papers (2016-2018)."""

__version__ = "0.1.0"
