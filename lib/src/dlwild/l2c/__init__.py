"""Learning to cluster end to end (Meier et al., ANNPR 2018): episodes, the L2C network and
its loss, data adapters (2-D points, speech, images), baselines, evaluation, and the public
entry points :func:`load_trained` and :func:`cluster`."""

from dlwild.l2c.api import cluster, cluster_sets, fresh_points, load_trained

__all__ = ["cluster", "cluster_sets", "fresh_points", "load_trained"]
