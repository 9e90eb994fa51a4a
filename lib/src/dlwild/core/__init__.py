"""Shared machinery of every chapter: paths, data, training, reports, plots, artifacts."""
