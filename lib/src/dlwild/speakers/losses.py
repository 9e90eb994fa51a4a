"""The pairwise KL-divergence ("PKLD") loss of Lukic et al., MLSP 2017 (after Hsu & Kira 2016).

Every pair of items in a minibatch is weakly labelled same / different speaker; the loss pulls the
output distributions of same-speaker pairs together (KL divergence) and pushes those of
different-speaker pairs at least ``margin`` apart (hinge on the KL divergence), in both directions.
Also used with margin 3 by the BiLSTM of Stadelmann et al., ANNPR 2018.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

__all__ = ["pairwise_kl_divergence", "pairwise_kl_loss", "pkld_loss_fn"]


def pairwise_kl_divergence(
    probs_or_logits: torch.Tensor, eps: float = 1e-16, from_logits: bool = False
) -> torch.Tensor:
    """Matrix ``KL[i, j] = KL(P_i || P_j) = sum_k P_ik log(P_ik / P_jk)`` of a batch ``[n, k]``.

    With probabilities, ``eps`` is added to every probability before use (as the authors' code
    does: ``P += eps``), so zeros give finite values; with ``from_logits=True`` the exact
    ``log_softmax`` is used and ``eps`` is ignored.
    Vectorised as ``sum_k P_ik log P_ik - (P log P^T)_ij``.
    """
    if probs_or_logits.dim() != 2:
        raise ValueError(
            f"expected a [batch, classes] tensor, got shape {tuple(probs_or_logits.shape)}"
        )
    if from_logits:
        log_p = F.log_softmax(probs_or_logits, dim=1)
        p = log_p.exp()
    else:
        p = probs_or_logits + eps
        log_p = p.log()
    neg_entropy = (p * log_p).sum(dim=1)  # sum_k P_ik log P_ik
    cross = p @ log_p.transpose(0, 1)  # [i, j] = sum_k P_ik log P_jk
    return neg_entropy[:, None] - cross


def pairwise_kl_loss(
    probs_or_logits: torch.Tensor,
    speakers: torch.Tensor | Sequence[Any],
    margin: float = 2.0,
    eps: float = 1e-16,
    from_logits: bool = False,
) -> torch.Tensor:
    """PKLD batch loss of MLSP 2017 Sec. 2: the mean of ``L(P, Q)`` over all unordered pairs.

    ``cost(P||Q) = I_same KL(P||Q) + I_diff max(0, margin - KL(P||Q))`` and
    ``L(P, Q) = cost(P||Q) + cost(Q||P)``; the batch loss is ``sum_{i<j} L(P_i, P_j)`` divided
    by ``n(n-1)/2`` (self-pairs excluded).  This equals the authors' Theano code (sum over all
    ordered pairs incl. the zero self-pairs, divided by ``n(n-1)``) and their ANNPR 2018
    TensorFlow code (pairs ``i < j``, divided by ``n(n-1)/2``).  ``speakers`` holds one label
    per item; ``margin`` is 2 in MLSP 2017, 3 in ANNPR 2018.
    """
    n = probs_or_logits.shape[0]
    if n < 2:
        raise ValueError(f"the pairwise KL loss needs at least 2 items in a batch, got {n}")
    labels = torch.as_tensor(speakers, device=probs_or_logits.device).reshape(-1)
    if labels.numel() != n:
        raise ValueError(f"got {labels.numel()} speaker labels for a batch of {n} outputs")
    kl = pairwise_kl_divergence(probs_or_logits, eps=eps, from_logits=from_logits)
    same = labels[:, None] == labels[None, :]
    cost = torch.where(same, kl, torch.clamp(margin - kl, min=0.0))
    off_diagonal = ~torch.eye(n, dtype=torch.bool, device=cost.device)
    # sum_{i<j} [cost_ij + cost_ji] = sum_{i != j} cost_ij, over n(n-1)/2 unordered pairs
    return cost[off_diagonal].sum() / (n * (n - 1) / 2)


def pkld_loss_fn(
    margin: float = 2.0, eps: float = 1e-16
) -> Callable[[torch.nn.Module, Any], torch.Tensor]:
    """A ``loss_fn(model, (x, speakers))`` for :func:`dlwild.core.train.fit`: PKLD on the
    model's logits (``forward`` of the models in :mod:`dlwild.speakers.models` returns logits)."""

    def loss_fn(model: torch.nn.Module, batch: Any) -> torch.Tensor:
        x, speakers = batch[0], batch[1]
        return pairwise_kl_loss(model(x), speakers, margin=margin, eps=eps, from_logits=True)

    return loss_fn
