"""A contrast from per-subject scores: within-subject differences, then groups of subjects.

For a contrast ``v_b * w_t`` (see :func:`mekscore.tl._layout.factorise`) each subject
with a value at every time point ``t`` the contrast needs gets the score
``d = sum_t w_t y_t``; the subjects of each between level form a group. One group is a
one-sample (paired) test of the scores; two groups weighted ``+1/-1`` are a two-group
comparison of scores (for unrepeated arms the score is the sample's value, so this is
today's two-arm test); more groups are Welch-Satterthwaite.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from . import _fits
from ._layout import Factorised, Layout
from ._stats import EFFECT_MEASURES

_PAIRED = {"welch": "paired-t", "mannwhitney": "wilcoxon"}


def subject_scores(
    layout: Layout,
    factor: Factorised,
    y: np.ndarray,
    test: str,
    *,
    confidence: float,
    alpha: float,
    delegate: bool = True,
) -> _fits.ContrastResult:
    """The contrast on the complete subjects; ``delegate=False`` keeps it a t test."""
    settings = {"confidence": confidence, "alpha": alpha}
    values, samples = [], []
    for b in factor.between:
        positions = layout.positions[layout.subject_between == b][:, list(factor.within)]
        values.append(np.where(positions >= 0, y[np.maximum(positions, 0)], np.nan))
        samples.append(positions)
    complete = [~np.isnan(v).any(axis=1) for v in values]
    left_out = _left_out(layout, values, samples, complete)
    scores = [v[ok] for v, ok in zip(values, complete, strict=True)]
    if len(scores) == 1:
        return _one_group(layout, factor, scores[0], test, settings=settings, left_out=left_out)
    n = {layout.between[b]: len(s) for b, s in zip(factor.between, scores, strict=True)}
    if min(n.values()) < 2:
        reason = _too_few(n, two_arm=layout.kind == "arms" and len(layout.between) == 2)
        return _fits.untestable(test, EFFECT_MEASURES[test], reason, n=n, left_out=left_out)
    groups, weights = [s @ factor.w for s in scores], list(factor.v)
    if len(groups) == 2 and weights == [1.0, -1.0]:
        groups, weights = groups[::-1], [-1.0, 1.0]
    result = _fits.groups_contrast(groups, weights, test if delegate else "welch", **settings)
    return replace(result, n=n, left_out=left_out)


def _one_group(layout, factor, scores, test, *, settings, left_out) -> _fits.ContrastResult:
    test = _PAIRED.get(test, test)  # repeated designs name their unpaired test
    what = "pairs" if layout.kind == "paired" else "subjects"
    k = len(scores)
    n = {layout.within[t]: k for t in factor.within}
    if k < 2:
        reason = f"too few {what} (n_{what}={k}; need >= 2)"
        return _fits.untestable(test, EFFECT_MEASURES[test], reason, n=n, left_out=left_out)
    if list(factor.w) == [1.0, -1.0]:  # later minus earlier: the two-arm paired test itself
        result = _fits.paired_contrast(scores[:, 1], scores[:, 0], test, **settings)
    else:
        result = _fits.paired_contrast(np.zeros(k), scores @ factor.w, test, **settings)
    return replace(result, n=n, n_subjects=k, left_out=left_out)


def _left_out(layout: Layout, values, samples, complete) -> dict[str, str]:
    """Samples with a value whose subject lacks another value the contrast needs."""
    out = {}
    for v, positions, ok in zip(values, samples, complete, strict=True):
        partial = ~ok & ~np.isnan(v).all(axis=1)
        for k in np.flatnonzero(partial):
            for j in np.flatnonzero(~np.isnan(v[k])):
                sample = layout.samples[positions[k, j]]
                what = "pair" if layout.kind == "paired" else "subject"
                out[str(sample)] = f"its {what} has no value at another level of this contrast"
    return out


def _too_few(n: dict[str, int], *, two_arm: bool) -> str:
    """The shortage; a two-arm design says it as a two-arm comparison always has."""
    if len(n) == 2:
        (plus, k_plus), (minus, k_minus) = n.items()
        if two_arm:
            plus, minus = "treated", "control"
        return f"too few samples per arm (n_{minus}={k_minus}, n_{plus}={k_plus}; need >= 2)"
    shown = ", ".join(f"{label} (n={k})" for label, k in n.items() if k < 2)
    return f"too few samples in {shown}; need >= 2"
