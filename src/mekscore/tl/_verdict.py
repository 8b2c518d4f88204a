"""From tested rows to verdicts: multiple-testing families, the PD gatekeeper, verdict words.

Families (Benjamini-Hochberg within each, never across):

``pharmacodynamic``
    The on-target control: MAPK output in tumour cells (MEK inhibition must lower
    it). Tested first, at ``alpha`` on its own (the first step of a fixed
    sequence). When it is not confirmed (not ``consistent``), every other row is
    flagged ``PD not confirmed`` and the summary says so first.
``directional``
    Programs with an expected direction (up/down), in their own compartment.
``no expected direction``
    Programs whose literature direction is mixed or unclear: their q-value is
    reported over their own family and their verdict is ``no expected direction``.
``secondary``
    Extra rows of a program tested in all cells (``in_all_cells=True``).
``abundance`` and ``abundance, no expected direction``
    Each compartment's share of cells (composition), split like the programs by
    whether the literature gives a direction.

Every contrast of a design is its own question: families are formed within each
contrast, and each contrast that should move MAPK output (one adding a MEK or other
MAPK-pathway inhibitor, or an activating mutation) has its own pharmacodynamic gate.
What a row should show in a contrast follows from what the contrast adds
(:func:`expectation`): a MEK inhibitor, the signature's literature direction; a
checkpoint inhibitor alone, no change of MAPK output (a specificity check, verdict
``opposite`` if it changes) and no expected direction elsewhere; an interaction or
"combination beats both", the signature's combination expectation if the library
states one.

A call (``consistent``/``opposite``) needs ``q <= alpha`` and an interval whose limits
both lie beyond 0 on the observed side; anything else (including a NaN q) is ``no change
detected`` or ``not testable``. A limit at 0 never supports a call, even when that end is
open (a rank test that rejects a shift of 0 but not the shifts next to it, when values
tie at 0): the reason says so and the row's flag gives the cause.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._agents import mapk_output
from ._stats import benjamini_hochberg

VERDICTS = (
    "consistent",
    "opposite",
    "no change detected",
    "no expected direction",
    "not testable",
)
CALLS = ("consistent", "opposite")
FAMILIES = (
    "pharmacodynamic",
    "directional",
    "no expected direction",
    "secondary",
    "abundance",
    "abundance, no expected direction",
)
PD_CONTROLS = {"mapk_output_mpas": "tumor", "progeny_mapk": "tumor"}
"""Pharmacodynamic programs -> the compartment they are read in. The first one in the table
(MPAS; the PROGENy MAPK footprint when MPAS is absent) is the gate; the others are reported in
the same family as supporting readouts."""
FLAG_PD = "PD not confirmed"


def family(signature: str, compartment: str, primary: str, expected: str, kind: str) -> str:
    """The multiple-testing family of a row.

    Examples
    --------
    >>> family("mapk_output_mpas", "tumor", "tumor", "down", "program")
    'pharmacodynamic'
    >>> family("mhc1_apm", "any", "tumor", "up", "program")
    'secondary'
    """
    if kind == "abundance":
        return "abundance" if expected in ("up", "down") else "abundance, no expected direction"
    if compartment != primary:
        return "secondary"
    if PD_CONTROLS.get(signature) == compartment:
        return "pharmacodynamic"
    return "directional" if expected in ("up", "down") else "no expected direction"


_FLIP = {"up": "down", "down": "up"}
_MEKI = "mek_inhibitor"


def expectation(expected: str, combination: str, contrast, *, pd_control: bool) -> str:
    """The direction a row should move in ``contrast`` (a :class:`NamedContrast`).

    ``expected`` is the signature's direction under MEK inhibition, ``combination``
    its direction for MEK inhibition with checkpoint blockade beyond either agent.
    ``"none"`` (pharmacodynamic rows only) means no change of MAPK output is expected.

    Examples
    --------
    >>> from mekscore.tl._contrasts import NamedContrast
    >>> cobi = NamedContrast("c", "cobi vs vehicle", "simple", adds=frozenset({_MEKI}))
    >>> icb = NamedContrast("a", "aPDL1 vs vehicle", "simple", adds=frozenset({"checkpoint"}))
    >>> expectation("up", "unclear", cobi, pd_control=False)
    'up'
    >>> expectation("down", "unclear", icb, pd_control=True)
    'none'
    >>> expectation("up", "unclear", icb, pd_control=False)
    'unclear'
    """
    if contrast.kind in ("interaction", "beats_both"):
        both = {_MEKI, "checkpoint"} <= contrast.adds
        return combination if both and not pd_control else "unclear"
    if pd_control:
        if contrast.adds:
            return mapk_output(contrast.adds)
        removed = mapk_output(contrast.removes)
        return _FLIP.get(removed, removed) if contrast.removes else "unclear"
    if _MEKI in contrast.adds:
        return expected
    if _MEKI in contrast.removes:
        return _FLIP.get(expected, expected)
    return "unclear"


def co_agents(contrast) -> str:
    """A flag for a MEK-inhibitor contrast that also adds other agents, or ``""``.

    Its expectation is the MEK inhibitor's; a change may come from the other agents.

    Examples
    --------
    >>> from mekscore.tl._contrasts import NamedContrast
    >>> combo = NamedContrast("c", "combo vs vehicle", "simple",
    ...                       adds=frozenset({_MEKI, "checkpoint"}))
    >>> print(co_agents(combo))
    the contrast also adds a checkpoint inhibitor: a change may be theirs, not the MEK inhibitor's
    """
    if contrast.kind in ("interaction", "beats_both") or _MEKI not in contrast.adds:
        return ""
    others = sorted(contrast.adds - {_MEKI})
    if not others:
        return ""
    words = " and ".join(_AGENT_WORDS.get(c, c) for c in others)
    return f"the contrast also adds {words}: a change may be theirs, not the MEK inhibitor's"


_AGENT_WORDS = {
    "checkpoint": "a checkpoint inhibitor",
    "mapk_inhibitor": "another MAPK-pathway inhibitor",
    "mapk_activator": "a MAPK activator",
    "other": "another agent",
}


def add_verdicts(
    table: pd.DataFrame, alpha: float, *, confidence: float | None = None
) -> tuple[pd.DataFrame, str]:
    """Fill ``q_value``, ``verdict`` and ``reason``; return the PD status of each contrast.

    Benjamini-Hochberg runs within each family of each contrast (``contrast`` column;
    one contrast when absent). A contrast whose gate is not confirmed flags its other
    rows ``PD not confirmed``. ``table`` needs ``family``, ``p_value``, ``observed``,
    ``expected``, ``ci_low``,
    ``ci_high``, ``verdict`` (``"not testable"`` or empty), ``reason`` and ``flag``;
    ``confidence`` is the level of its intervals (``1 - alpha`` if None).

    Examples
    --------
    >>> t = pd.DataFrame({"family": ["directional"], "p_value": [0.01], "observed": ["up"],
    ...     "expected": ["up"], "ci_low": [0.2], "ci_high": [1.4], "verdict": [""],
    ...     "reason": [""], "flag": [""], "signature": ["x"], "compartment": ["tumor"]})
    >>> out, status = add_verdicts(t, 0.05)
    >>> out.loc[0, "verdict"], status
    ('consistent', {'': 'not tested: no pharmacodynamic control in the table'})
    """
    table = table.copy()
    level = 1 - alpha if confidence is None else confidence
    table["q_value"] = np.nan
    contrasts = table["contrast"] if "contrast" in table else pd.Series("", index=table.index)
    for (name, _), rows in table.groupby([table["family"], contrasts], sort=False).groups.items():
        if name in FAMILIES:
            p_values = table.loc[rows, "p_value"].to_numpy(float)
            table.loc[rows, "q_value"] = benjamini_hochberg(p_values)
    for i in table.index[table["verdict"] != "not testable"]:
        table.loc[i, ["verdict", "reason"]] = _verdict(table.loc[i], alpha, level)
    statuses = {}
    for contrast, rows in table.groupby(contrasts, sort=False).groups.items():
        status = pd_status(table.loc[rows])
        statuses[contrast] = status
        if status.startswith("confirmed") or status.startswith("no gate"):
            continue
        others = rows[table.loc[rows, "family"] != "pharmacodynamic"]
        table.loc[others, "flag"] = [_join(f, FLAG_PD) for f in table.loc[others, "flag"]]
    return table, statuses


def pd_status(table: pd.DataFrame) -> str:
    """``confirmed (...)``, ``not confirmed: ...``, ``not tested: ...`` or ``no gate: ...``.

    ``table`` holds the rows of one contrast. A contrast that should not move MAPK output
    (a checkpoint inhibitor alone, an interaction) has no gate: its pharmacodynamic rows
    are a specificity check, and its other rows are not flagged.
    """
    pd_rows = table[table["family"] == "pharmacodynamic"]
    if pd_rows.empty:
        return "not tested: no pharmacodynamic control in the table"
    order = {sid: i for i, sid in enumerate(PD_CONTROLS)}
    row = pd_rows.loc[pd_rows["signature"].map(order).sort_values(kind="stable").index].iloc[0]
    what = f"{row['signature']} in {row['compartment']}"
    if row["expected"] == "none":
        return f"no gate: MAPK output is not expected to move here ({what} {row['verdict']})"
    if row["expected"] not in ("up", "down"):
        return f"no gate: MAPK output has no expected direction here ({what} {row['verdict']})"
    if row["verdict"] == "consistent":
        return f"confirmed ({what} {row['expected']}, q = {row['q_value']:.3g})"
    if row["verdict"] == "not testable":
        return f"not tested: {what} not testable ({row['reason']})"
    return f"not confirmed: {what} {row['verdict']} ({row['reason']})"


def _verdict(row: pd.Series, alpha: float, confidence: float) -> tuple[str, str]:
    q, observed, expected = row["q_value"], row["observed"], row["expected"]
    shown = "nan" if pd.isna(q) else f"{q:.3g}"
    if expected == "none":
        return _specificity(row, alpha, shown)
    if expected not in ("up", "down"):
        return "no expected direction", f"observed {observed or 'none'}, q = {shown}; {expected}"
    if not (q <= alpha):  # NaN never makes a call
        return "no change detected", f"q = {shown} > {alpha}"
    if not _excludes_zero(row):
        return "no change detected", f"q = {shown} <= {alpha} but {_zero_kept(row, confidence)}"
    verdict = "consistent" if observed == expected else "opposite"
    return verdict, f"q = {shown} <= {alpha}; observed {observed}, expected {expected}"


def _specificity(row: pd.Series, alpha: float, shown: str) -> tuple[str, str]:
    """A row that should not change (MAPK output when no MAPK agent is added)."""
    if row["q_value"] <= alpha and _excludes_zero(row):
        return "opposite", (
            f"q = {shown} <= {alpha}: MAPK output moved {row['observed']} although this "
            "contrast adds no MAPK-pathway agent (specificity check failed)"
        )
    return "no change detected", (
        f"q = {shown}: no change expected, as this contrast adds no MAPK-pathway agent "
        "(specificity check)"
    )


def _excludes_zero(row: pd.Series) -> bool:
    if row["observed"] == "up":
        return bool(row["ci_low"] > 0)
    if row["observed"] == "down":
        return bool(row["ci_high"] < 0)
    return False


def _zero_kept(row: pd.Series, confidence: float) -> str:
    """Why the interval reaches 0 although ``p <= q <= alpha``.

    Examples
    --------
    >>> row = pd.Series({"ci_low": 0.0, "ci_high": 2.0, "p_value": 0.042})
    >>> _zero_kept(row, 0.95)
    'the interval [0, 2] ends at 0, an end the test rejects (open; see flag): a call needs both limits beyond 0'
    >>> _zero_kept(row, 0.99)
    'the 99% interval [0, 2] includes 0 (p = 0.042 > 1 - 0.99)'
    """  # noqa: E501
    low, high, p = row["ci_low"], row["ci_high"], row["p_value"]
    shown = f"[{low:.3g}, {high:.3g}]"
    if p > 1 - confidence:  # an interval at a higher level than 1 - alpha
        return (
            f"the {confidence:.0%} interval {shown} includes 0 (p = {p:.3g} > 1 - {confidence:g})"
        )
    return (
        f"the interval {shown} ends at 0, an end the test rejects (open; see flag): a call "
        "needs both limits beyond 0"
    )


def _join(flag: str, extra: str) -> str:
    return f"{flag}; {extra}" if flag else extra
