"""The study design of a comparison: which samples, which arm, which pair.

Everything here is checked before any scoring, so a misspelt label fails in a
second rather than after an hour. Samples that cannot take part (no condition, no
pair label, an incomplete pair) are dropped and named with the reason; they are
never silently merged or ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError, Setting
from . import _stats

_LIKELY_SAMPLE = re.compile(
    r"sample|donor|patient|mouse|mice|subject|individual|animal|replicate|orig\.?ident|biopsy",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Design:
    """Samples of the two arms.

    Attributes
    ----------
    sheet
        One row per sample in the comparison (sorted), columns ``arm``
        (``control``/``treated``), ``condition`` and ``pair`` (``""`` if unpaired).
    samples
        Each observation's sample label, categorical (``NaN`` for observations left out).
    paired
        Whether a ``pair_key`` was given.
    bulk
        Whether each observation is its own sample.
    test
        The test to run (a name of :data:`mekscore.tl._stats.TESTS`).
    dropped
        Sample -> reason, for samples left out of every test.
    notes
        Sentences about observations left out (e.g. cells without a sample label).
    """

    sheet: pd.DataFrame
    samples: pd.Series
    paired: bool
    bulk: bool
    test: str
    dropped: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def check_keys(obs: pd.DataFrame, *keys: str | None) -> None:
    """Refuse ``obs`` columns that do not exist, listing the ones that do."""
    missing = [k for k in keys if k is not None and k not in obs.columns]
    if missing:
        raise InputError(
            f"column(s) {', '.join(map(repr, missing))} not in adata.obs "
            f"(columns: {', '.join(map(str, obs.columns)) or 'none'}); pass existing obs columns"
        )


def build_design(
    obs: pd.DataFrame,
    *,
    condition_key: str,
    control: str,
    treated: str,
    sample_key: str | None,
    pair_key: str | None,
    test: str | None,
    bulk: bool = False,
) -> Design:
    """Validate the labels and build the :class:`Design`.

    Examples
    --------
    >>> obs = pd.DataFrame({"s": ["a", "a", "b", "c", "d"], "c": ["v", "v", "t", "v", "t"]})
    >>> d = build_design(obs, condition_key="c", control="v", treated="t", sample_key="s",
    ...                  pair_key=None, test=None)
    >>> d.sheet["arm"].to_dict(), d.test, d.bulk
    ({'a': 'control', 'b': 'treated', 'c': 'control', 'd': 'treated'}, 'welch', False)
    """
    obs = obs.rename_axis(index=None)  # an index named like a column is ambiguous
    check_keys(obs, condition_key, sample_key, pair_key)
    paired = pair_key is not None
    test = resolve_test(test, paired)
    samples, notes = _sample_labels(obs, sample_key, bulk)
    condition = _labels(obs[condition_key])
    _check_arms(condition, condition_key, control, treated)
    samples, unlabelled = _without_condition(samples, condition, condition_key)
    notes += unlabelled
    arm = condition.map({str(control): "control", str(treated): "treated"})
    pair = _labels(obs[pair_key]) if paired else pd.Series("", index=obs.index, dtype="category")
    sheet, dropped = _sheet(samples, condition, arm, pair, sample_key)
    if paired:
        sheet, dropped = _complete_pairs(sheet, dropped, pair_key)
    if sheet.empty:
        raise InputError(
            f"no sample is left in the comparison of {control!r} and {treated!r} "
            f"(dropped: {_describe(dropped) or 'none'}); check the sample and condition labels"
        )
    _check_replicates(sheet, paired, dropped, arms={"control": control, "treated": treated})
    one_per_sample = bool(samples.dropna().is_unique)
    return Design(sheet, samples, paired, bulk or one_per_sample, test, dropped, notes)


def resolve_test(test: str | None, paired: bool) -> str:
    """The test for the design: the default, or ``test`` checked against the design.

    Examples
    --------
    >>> resolve_test(None, paired=True), resolve_test("mannwhitney", paired=False)
    ('paired-t', 'mannwhitney')
    """
    allowed = _stats.PAIRED_TESTS if paired else _stats.UNPAIRED_TESTS
    if test is None:
        return allowed[0]
    if test not in allowed:
        design = "a paired design (with a pair key)" if paired else "an unpaired design"
        raise InputError(f"test {test!r} is not for {design}; use one of {', '.join(allowed)}")
    return test


def describe_dropped(design: Design) -> str:
    """The dropped samples as one phrase, e.g. ``"S3 (no condition), P2-on (pair incomplete)"``."""
    return _describe(design.dropped)


def _describe(dropped: dict[str, str]) -> str:
    return ", ".join(f"{s} ({why})" for s, why in dropped.items())


def _labels(column: pd.Series) -> pd.Series:
    """Labels as a categorical of stripped strings, missing and blank labels as ``NaN``.

    The distinct labels are cleaned once and mapped back by code, so a million cells
    from a few samples cost a factorisation, not a million string operations; the
    categorical result keeps later masks, counts and groupings per category too.

    Examples
    --------
    >>> _labels(pd.Series(["a ", "", None, "b", "a"])).tolist()
    ['a', nan, nan, 'b', 'a']
    """
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    text = pd.Series(uniques, dtype="string").str.strip()
    merged, names = pd.factorize(text.mask(text == "").astype(object), sort=True)
    merged = np.append(merged, -1)  # code -1 (a missing label) stays missing
    labels = pd.Categorical.from_codes(merged[codes], categories=pd.Index(names, dtype=object))
    return pd.Series(labels, index=column.index)


def _sample_labels(obs: pd.DataFrame, sample_key: str | None, bulk: bool):
    if sample_key is None:
        if not bulk:
            raise InputError(
                "no {sample_key!p}: in single-cell data the replicate is the sample, not the "
                "cell; name the obs column of each cell's sample with {sample_key!p}{likely} "
                "(for bulk data where each observation is one sample pass {bulk})",
                sample_key=None,
                likely=_likely_columns(obs),
                bulk=Setting("bulk", True),
            )
        return pd.Series(pd.Categorical(obs.index.astype(str)), index=obs.index), ()
    samples = _labels(obs[sample_key])
    missing = int(samples.isna().sum())
    if not missing:
        return samples, ()
    return samples, (f"{missing} observation(s) without a {sample_key!r} label left out",)


def _without_condition(samples: pd.Series, condition: pd.Series, condition_key: str):
    """Observations without a condition in samples that have one elsewhere are left out.

    Their sample's arm is known from its other observations, but a cell or row whose own
    label is missing is not silently counted in it. Returns the samples and a note.
    """
    labelled = samples[condition.notna()].dropna().unique()
    stray = condition.isna().to_numpy() & samples.isin(labelled).to_numpy()
    if not stray.any():
        return samples, ()
    note = (
        f"{int(stray.sum())} observation(s) without a {condition_key!r} label left out "
        "(their sample's other observations have one)"
    )
    return samples.where(~stray), (note,)


def _check_replicates(
    sheet: pd.DataFrame, paired: bool, dropped: dict[str, str], *, arms: dict[str, str]
) -> None:
    """Refuse, before any scoring, a design that leaves an arm with fewer than 2 samples."""
    left = f" (dropped: {_describe(dropped)})" if dropped else ""
    if paired:
        n_pairs = sheet["pair"].nunique()
        if n_pairs < 2:
            raise InputError(
                f"{n_pairs} complete pair(s){left}: a paired test needs at least 2 pairs; "
                "add pairs or drop the pair key"
            )
        return
    per_arm = sheet.groupby("arm").size().reindex(["control", "treated"], fill_value=0)
    if per_arm.min() < 2:
        counts = ", ".join(f"{arms[arm]}: {n}" for arm, n in per_arm.items())
        raise InputError(
            f"too few samples per arm ({counts}){left}: each arm needs at least 2 samples "
            "(the sample, not the cell, is the replicate); check sample_key and the labels"
        )


def _likely_columns(obs: pd.DataFrame) -> str:
    likely = [str(c) for c in obs.columns if _LIKELY_SAMPLE.search(str(c))]
    return f"; likely columns: {', '.join(likely)}" if likely else ""


def _check_arms(condition: pd.Series, condition_key: str, control: str, treated: str) -> None:
    present = sorted(condition.cat.categories)  # every category of _labels is observed
    for label in (control, treated):
        if str(label) not in present:
            raise InputError(
                f"label {label!r} not found in obs[{condition_key!r}] (available: "
                f"{', '.join(present) or 'none'}); pick the control and treated labels from these"
            )
    if str(control) == str(treated):
        raise InputError(f"control and treated are both {control!r}; pass two different labels")


def _sheet(samples, condition, arm, pair, sample_key) -> tuple[pd.DataFrame, dict[str, str]]:
    """One row per sample of the two arms; samples without a condition are dropped."""
    frame = pd.DataFrame({"sample": samples, "arm": arm, "condition": condition, "pair": pair})
    frame = frame[frame["sample"].notna()].drop_duplicates()  # one row per distinct labelling
    frame = frame.astype(object)  # a few rows now: plain labels from here on
    per_sample = frame.groupby("sample", sort=True).agg(
        arms=("arm", "nunique"),
        conditions=("condition", "nunique"),
        pairs=("pair", "nunique"),
    )
    mixed = per_sample.index[(per_sample["conditions"] > 1) | (per_sample["pairs"] > 1)]
    if len(mixed):
        raise InputError(
            f"sample(s) {', '.join(map(str, mixed[:5]))} span several conditions or pairs; each "
            f"sample ({sample_key or 'observation'}) must have one condition and one pair"
        )
    first = frame.dropna(subset=["condition"]).drop_duplicates("sample").set_index("sample")
    no_condition = per_sample.index[per_sample["conditions"] == 0]
    dropped = {str(s): "no condition" for s in no_condition}
    sheet = first[first["arm"].notna()][["arm", "condition", "pair"]].sort_index()
    no_pair = sheet.index[sheet["pair"].isna()]
    dropped.update({str(s): "no pair label" for s in no_pair})
    sheet = sheet.drop(index=no_pair)
    sheet["pair"] = sheet["pair"].fillna("")
    sheet.index = sheet.index.astype(str)
    return sheet, dropped


def _complete_pairs(sheet: pd.DataFrame, dropped: dict[str, str], pair_key: str):
    counts = sheet.groupby(["pair", "arm"]).size()
    dup = counts[counts > 1]
    if len(dup):
        pair, arm = dup.index[0]
        raise InputError(
            f"pair {pair!r} has {dup.iloc[0]} {arm} samples; obs[{pair_key!r}] must give each "
            "pair one control and one treated sample"
        )
    arms_per_pair = sheet.groupby("pair")["arm"].transform("nunique")
    incomplete = sheet.index[arms_per_pair < 2]
    dropped = dict(dropped)
    for sample in incomplete:
        lacking = "treated" if sheet.loc[sample, "arm"] == "control" else "control"
        dropped[sample] = f"pair {sheet.loc[sample, 'pair']} has no {lacking} sample"
    return sheet.drop(index=incomplete), dropped
