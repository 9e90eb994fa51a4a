"""Trace and detect adversarial attacks with feature response maps (Amirian, Schwenker and
Stadelmann, ANNPR 2018): the local spatial entropy of guided-backpropagation maps, the
attacks through maintained libraries, and the threshold detector.

The pieces a later chapter can reuse are importable from here:
:func:`local_spatial_entropy` (:mod:`.entropy`) and :func:`feature_response` (:mod:`.maps`)."""

from dlwild.adversarial.entropy import READINGS, local_entropy_map, local_spatial_entropy
from dlwild.adversarial.maps import feature_response

__all__ = ["READINGS", "feature_response", "local_entropy_map", "local_spatial_entropy"]
