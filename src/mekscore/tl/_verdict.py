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

A call (``consistent``/``opposite``) needs ``q <= alpha`` and an interval whose limits
both lie beyond 0 on the observed side; anything else (including a NaN q) is ``no change
detected`` or ``not testable``. A limit at 0 never supports a call, even when that end is
open (a rank test that rejects a shift of 0 but not the shifts next to it, when values
tie at 0): the reason says so and the row's flag gives the cause.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._stats import benjamini_hochberg

VERDICTS = (
    "consistent", "opposite", "no change detected", "no expected direction", "not testable",
)  # fmt: skip
CALLS = ("consistent", "opposite")
FAMILIES = (
    "pharmacodynamic", "directional", "no expected direction", "secondary", "abundance",
    "abundance, no expected direction",
)  # fmt: skip
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


def add_verdicts(
    table: pd.DataFrame, alpha: float, *, confidence: float | None = None
) -> tuple[pd.DataFrame, str]:
    """Fill ``q_value``, ``verdict`` and ``reason`` family by family; return the PD status.

    ``table`` needs ``family``, ``p_value``, ``observed``, ``expected``, ``ci_low``,
    ``ci_high``, ``verdict`` (``"not testable"`` or empty), ``reason`` and ``flag``;
    ``confidence`` is the level of its intervals (``1 - alpha`` if None).

    Examples
    --------
    >>> t = pd.DataFrame({"family": ["directional"], "p_value": [0.01], "observed": ["up"],
    ...     "expected": ["up"], "ci_low": [0.2], "ci_high": [1.4], "verdict": [""],
    ...     "reason": [""], "flag": [""], "signature": ["x"], "compartment": ["tumor"]})
    >>> out, pd_status = add_verdicts(t, 0.05)
    >>> out.loc[0, "verdict"], pd_status
    ('consistent', 'not tested: no pharmacodynamic control in the table')
    """
    table = table.copy()
    level = 1 - alpha if confidence is None else confidence
    table["q_value"] = np.nan
    for name in FAMILIES:
        rows = table.index[table["family"] == name]
        table.loc[rows, "q_value"] = benjamini_hochberg(table.loc[rows, "p_value"].to_numpy(float))
    for i in table.index[table["verdict"] != "not testable"]:
        table.loc[i, ["verdict", "reason"]] = _verdict(table.loc[i], alpha, level)
    status = pd_status(table)
    if not status.startswith("confirmed"):
        others = table["family"] != "pharmacodynamic"
        table.loc[others, "flag"] = [_join(f, FLAG_PD) for f in table.loc[others, "flag"]]
    return table, status


def pd_status(table: pd.DataFrame) -> str:
    """``confirmed (...)``, ``not confirmed: ...`` or ``not tested: ...`` for the PD control."""
    pd_rows = table[table["family"] == "pharmacodynamic"]
    if pd_rows.empty:
        return "not tested: no pharmacodynamic control in the table"
    order = {sid: i for i, sid in enumerate(PD_CONTROLS)}
    row = pd_rows.loc[pd_rows["signature"].map(order).sort_values(kind="stable").index].iloc[0]
    what = f"{row['signature']} in {row['compartment']}"
    if row["verdict"] == "consistent":
        return f"confirmed ({what} down, q = {row['q_value']:.3g})"
    if row["verdict"] == "not testable":
        return f"not tested: {what} not testable ({row['reason']})"
    return f"not confirmed: {what} {row['verdict']} ({row['reason']})"


def _verdict(row: pd.Series, alpha: float, confidence: float) -> tuple[str, str]:
    q, observed, expected = row["q_value"], row["observed"], row["expected"]
    shown = "nan" if pd.isna(q) else f"{q:.3g}"
    if expected not in ("up", "down"):
        return "no expected direction", f"observed {observed or 'none'}, q = {shown}; {expected}"
    if not (q <= alpha):  # NaN never makes a call
        return "no change detected", f"q = {shown} > {alpha}"
    if not _excludes_zero(row):
        return "no change detected", f"q = {shown} <= {alpha} but {_zero_kept(row, confidence)}"
    verdict = "consistent" if observed == expected else "opposite"
    return verdict, f"q = {shown} <= {alpha}; observed {observed}, expected {expected}"


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
