"""The per-sample sheet of a design: one row per sample, its arm, pair, subject, time, covariates.

Built from ``adata.obs`` before any scoring, with the label hygiene of
:mod:`mekscore.tl._labels`: labels are cleaned once per distinct value (a million cells
cost a factorisation), every column the design reads must be constant within a sample,
and samples lacking a label the design needs are dropped and named, never guessed; an
observation without a condition in a sample whose other observations have one is left
out and noted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError
from ._designspec import Design
from ._labels import check_keys, clean_labels, describe_dropped, sample_labels, without_stray


@dataclass(frozen=True)
class SampleSheet:
    """The samples of a design.

    Attributes
    ----------
    table
        One row per sample (index: sample label, sorted). Arm designs: ``arm``
        (``control``/``treated``), ``condition`` (the arm label) and ``pair`` (``""``
        unpaired); repeated designs add ``subject``, ``time`` and ``group``.
    variables
        Covariates and formula variables by their ``obs`` names (numbers stay numbers).
    samples
        Each observation's sample label, categorical (``NaN`` for observations left out).
    bulk
        Whether each observation is its own sample.
    arms, times, groups
        The levels in design order: control first, baseline first, groups sorted.
    dropped
        Sample -> reason, for samples left out of every test.
    notes
        Sentences about observations left out.
    """

    table: pd.DataFrame
    variables: pd.DataFrame
    samples: pd.Series
    bulk: bool
    arms: tuple[str, ...] = ()
    times: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    dropped: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def condition(self) -> pd.Series:
        """Each sample's arm, else its time point, else one level (a formula without arms).

        Categorical, control (baseline) first: the grouping of tables and plots.

        Examples
        --------
        >>> obs = pd.DataFrame({"arm": ["v", "v", "m", "m"]})
        >>> d = Design(condition_key="arm", control="v", treated="m")
        >>> build_sheet(obs, d, sample_key=None, bulk=True).condition().tolist()
        ['v', 'v', 'm', 'm']
        """
        for column, order in (("condition", self.arms), ("time", self.times)):
            if column in self.table:
                labels = pd.Categorical(self.table[column].astype(str), categories=order)
                return pd.Series(labels, index=self.table.index)
        labels = pd.Categorical(["all samples"] * len(self.table))
        return pd.Series(labels, index=self.table.index)


def build_sheet(
    obs: pd.DataFrame, design: Design, *, sample_key: str | None, bulk: bool = False
) -> SampleSheet:
    """Validate the labels of ``obs`` against ``design`` and build the :class:`SampleSheet`.

    Examples
    --------
    >>> obs = pd.DataFrame({"s": list("abcdef"), "arm": ["v", "v", "m", "m", "c", "c"]})
    >>> sheet = build_sheet(obs, Design(condition_key="arm", control="v", agents={
    ...     "m": ["MEKi"], "c": ["MEKi", "ICI"]}), sample_key="s")
    >>> sheet.arms, sheet.table["condition"].tolist()
    (('v', 'm', 'c'), ['v', 'v', 'm', 'm', 'c', 'c'])
    """
    obs = obs.rename_axis(index=None)  # an index named like a column is ambiguous
    variables = _formula_variables(design)
    check_keys(obs, *design.keys, sample_key, *variables)
    samples, notes = sample_labels(obs, sample_key, bulk=bulk)
    columns = {role: clean_labels(obs[key]) for role, key in _roles(design).items()}
    if "condition" in columns:
        samples, stray = without_stray(samples, columns["condition"], design.condition_key)
        notes += stray
    arms = _arms(columns.get("condition"), design)
    times = _times(obs, columns.get("time"), design)
    first = {design.condition_key: design.control, design.time_key: design.baseline}
    covariates = {
        key: _values(obs[key], first=first.get(key)) for key in (*design.covariates, *variables)
    }
    frame, extra = _per_sample(samples, columns, covariates, sample_key, design)
    table, dropped = _select(frame, design, arms)
    if design.pair_key is not None:
        table, dropped = _complete_blocks(table, dropped, design.pair_key, len(arms))
    table, dropped = _complete_values(table, extra, dropped)
    if design.time_key is not None:
        _check_subjects(table, design)
    if not len(table):
        raise InputError(
            f"no sample is left in the comparison of {_arms_phrase(arms, design)} (dropped: "
            f"{describe_dropped(dropped) or 'none'}); check the sample and condition labels"
        )
    groups = tuple(sorted(table["group"].unique())) if "group" in table else ()
    one_per_sample = bool(samples.dropna().is_unique)
    return SampleSheet(
        table,
        _without_unused(extra.loc[table.index]),
        samples,
        bulk or one_per_sample,
        arms,
        times,
        groups,
        dropped,
        notes,
    )


def _without_unused(variables: pd.DataFrame) -> pd.DataFrame:
    """Levels no sample in the design has are dropped (a model column of zeros otherwise)."""
    return variables.apply(
        lambda c: (
            c.cat.remove_unused_categories() if isinstance(c.dtype, pd.CategoricalDtype) else c
        )
    )


def _formula_variables(design: Design) -> tuple[str, ...]:
    if design.formula is None:
        return ()
    from formulaic import Formula

    return tuple(sorted(Formula(design.formula).required_variables))


def _roles(design: Design) -> dict[str, str]:
    keys = {
        "condition": design.condition_key,
        "pair": design.pair_key,
        "subject": design.subject_key,
        "time": design.time_key,
        "group": design.between_key,
    }
    return {role: key for role, key in keys.items() if key is not None}


def _values(column: pd.Series, *, first: str | None = None) -> pd.Series:
    """Numbers as floats, anything else as cleaned labels (categorical).

    The levels keep the order of a categorical column (else sorted), with ``first`` (the
    control or baseline) moved to the front: a formula's reference level is the first.
    """
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return column.astype(float)
    labels = clean_labels(column)
    order = list(labels.cat.categories)
    if isinstance(column.dtype, pd.CategoricalDtype):
        given = dict.fromkeys(str(c).strip() for c in column.cat.categories)
        order = [c for c in given if c in order]
    if first in order:
        order.remove(first)
        order.insert(0, first)
    return labels.cat.reorder_categories(order)


def _arms(condition: pd.Series | None, design: Design) -> tuple[str, ...]:
    if condition is None:
        return ()
    present = list(condition.cat.categories)  # every category of _labels is observed
    if design.formula is not None:  # the arms are the formula's business; control first
        return tuple(sorted(present, key=lambda arm: arm != design.control))
    wanted = [design.control, *(design.treated or [])]
    for label in wanted:
        if label not in present:
            raise InputError(
                f"label {label!r} not found in obs[{design.condition_key!r}] (available: "
                f"{', '.join(present) or 'none'}); pick the control and treated labels from these"
            )
    if design.treated is None:
        wanted += [label for label in present if label != design.control]
    return tuple(wanted)


def _times(obs: pd.DataFrame, time: pd.Series | None, design: Design) -> tuple[str, ...]:
    """Time levels, baseline first, then in the order of a categorical column (else sorted)."""
    if time is None:
        return ()
    present = list(time.cat.categories)
    if design.baseline not in present:
        raise InputError(
            f"baseline {design.baseline!r} not found in obs[{design.time_key!r}] (available: "
            f"{', '.join(present)}); pick the untreated time point from these"
        )
    original = obs[design.time_key]
    if isinstance(original.dtype, pd.CategoricalDtype):
        order = [str(c).strip() for c in original.cat.categories]
        present.sort(key=lambda t: order.index(t) if t in order else len(order))
    if design.condition_key is None and design.agents is not None:
        unknown = sorted(set(design.agents) - set(present))
        if unknown:
            raise InputError(
                f"agents names time level(s) {', '.join(map(repr, unknown))} not in "
                f"obs[{design.time_key!r}] (levels: {', '.join(present)}); fix agents="
            )
    return (design.baseline, *[t for t in present if t != design.baseline])


def _per_sample(samples, columns, covariates, sample_key, design: Design):
    """Each sample's label per column; a column that varies within a sample is refused."""
    codes = samples.cat.codes.to_numpy()
    n = len(samples.cat.categories)
    index = pd.Index(samples.cat.categories.astype(str), dtype=object, name="sample")
    frame = {}
    for role, column in columns.items():
        frame[role], several = _reduce(codes, n, column)
        if several.any():
            _refuse_mixed(index[several], role, sample_key, design)
    extra = {}
    for key, column in covariates.items():
        values, several = _reduce(codes, n, column)
        extra[key] = _like(values, column)
        if several.any():
            raise InputError(
                f"obs[{key!r}] varies within sample(s) {', '.join(index[several][:5])}; a "
                f"covariate must be constant within a sample ({sample_key or 'observation'})"
            )
    return pd.DataFrame(frame, index=index), pd.DataFrame(extra, index=index)


def _like(values: np.ndarray, column: pd.Series) -> np.ndarray | pd.Categorical:
    """Per-sample ``values`` with the level order of a categorical ``column``."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return pd.Categorical(values, categories=column.cat.categories)
    return values


def _reduce(codes: np.ndarray, n: int, column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The one non-missing value per sample (``NaN`` if none) and whether it has several."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        values, names = column.cat.codes.to_numpy(), np.asarray(column.cat.categories, dtype=object)
    else:
        values, names = pd.factorize(column, sort=True)
        names = np.asarray(names)
    keep = (codes >= 0) & (values >= 0)
    width = np.int64(max(len(names), 1))
    pairs = np.unique(codes[keep].astype(np.int64) * width + values[keep])
    sample, value = np.divmod(pairs, width)
    count = np.bincount(sample, minlength=n)
    first = np.full(n, np.nan, dtype=object if names.dtype == object else float)
    first[sample] = names[value]
    return first, count > 1


def _refuse_mixed(samples: pd.Index, role: str, sample_key: str | None, design: Design) -> None:
    shown = ", ".join(map(str, samples[:5]))
    if role in ("condition", "pair") and design.time_key is None:
        raise InputError(
            f"sample(s) {shown} span several conditions or pairs; each sample "
            f"({sample_key or 'observation'}) must have one condition and one pair"
        )
    key = _roles(design)[role]
    raise InputError(
        f"sample(s) {shown} have several values of obs[{key!r}]; each sample "
        f"({sample_key or 'observation'}) must have one"
    )


def _select(frame: pd.DataFrame, design: Design, arms: tuple[str, ...]):
    """Samples of the design's arms with every label they need; the rest named in ``dropped``."""
    dropped: dict[str, str] = {}
    if "condition" in frame and design.formula is None:
        missing = frame.index[frame["condition"].isna()]
        dropped.update({s: "no condition" for s in missing})
        frame = frame[frame["condition"].isin(arms)].copy()
        frame.insert(0, "arm", np.where(frame["condition"] == design.control, "control", "treated"))
        if "pair" not in frame:
            frame.insert(2, "pair", "")
    for role in ("pair", "subject", "time", "group"):
        if role not in frame:
            continue
        missing = frame.index[frame[role].isna()]
        what = "no pair label" if role == "pair" else f"no {_roles(design)[role]!r} label"
        dropped.update({s: what for s in missing})
        frame = frame.drop(index=missing)
    return frame.astype(object), dropped


def _complete_values(table: pd.DataFrame, extra: pd.DataFrame, dropped: dict[str, str]):
    extra = extra.loc[table.index]
    dropped = dict(dropped)
    for key in extra.columns:
        missing = extra.index[extra[key].isna()]
        dropped.update({s: f"no {key!r} value" for s in missing if s not in dropped})
        table = table.drop(index=missing.intersection(table.index))
    return table, dropped


def _complete_blocks(table: pd.DataFrame, dropped: dict[str, str], pair_key: str, n_arms: int):
    """Refuse a pair with two samples of one arm; drop samples alone in their pair."""
    counts = table.groupby(["pair", "condition"]).size()
    dup = counts[counts > 1]
    if len(dup):
        pair, arm = dup.index[0]
        arm = table.loc[table["condition"] == arm, "arm"].iloc[0] if n_arms == 2 else repr(arm)
        raise InputError(
            f"pair {pair!r} has {dup.iloc[0]} {arm} samples; obs[{pair_key!r}] must give each "
            "pair one control and one treated sample"
            if n_arms == 2
            else f"pair {pair!r} has {dup.iloc[0]} samples of arm {arm}; obs[{pair_key!r}] must "
            "give each pair (block) at most one sample per arm"
        )
    alone = table.index[table.groupby("pair")["condition"].transform("size") < 2]
    dropped = dict(dropped)
    for sample in alone:
        pair = table.loc[sample, "pair"]
        if n_arms == 2:
            lacking = "treated" if table.loc[sample, "arm"] == "control" else "control"
            dropped[sample] = f"pair {pair} has no {lacking} sample"
        else:
            dropped[sample] = f"pair {pair} has no sample of another arm"
    return table.drop(index=alone), dropped


def _check_subjects(table: pd.DataFrame, design: Design) -> None:
    """Arms and groups are per subject; one sample per subject and time point."""
    for role in ("condition", "group"):
        if role in table:
            several = table.groupby("subject")[role].nunique()
            several = several.index[several > 1]
            if len(several):
                key = _roles(design)[role]
                raise InputError(
                    f"subject(s) {', '.join(map(str, several[:5]))} have samples in several "
                    f"levels of obs[{key!r}]; it must be constant within a subject "
                    "(for arms compared within a subject use pair_key=)"
                )
    counts = table.groupby(["subject", "time"]).size()
    dup = counts[counts > 1]
    if len(dup):
        subject, time = dup.index[0]
        raise InputError(
            f"subject {subject!r} has {dup.iloc[0]} samples at {time!r}; give each subject one "
            f"sample per level of obs[{design.time_key!r}] (or merge them into one sample)"
        )


def _arms_phrase(arms: tuple[str, ...], design: Design) -> str:
    if len(arms) == 2:
        return f"{arms[0]!r} and {arms[1]!r}"
    return ", ".join(map(repr, arms)) if arms else f"the {design.kind} design"
