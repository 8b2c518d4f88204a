"""Label hygiene for ``obs`` columns: cleaned once per distinct value, missing never guessed.

A million cells from a few samples cost a factorisation here, not a million string
operations, and the categorical results keep later masks, counts and groupings cheap.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..errors import InputError, Setting

_LIKELY_SAMPLE = re.compile(
    r"sample|donor|patient|mouse|mice|subject|individual|animal|replicate|orig\.?ident|biopsy",
    re.IGNORECASE,
)


def check_keys(obs: pd.DataFrame, *keys: str | None) -> None:
    """Refuse ``obs`` columns that do not exist, listing the ones that do.

    Examples
    --------
    >>> check_keys(pd.DataFrame({"a": [1]}), "a", None)
    >>> check_keys(pd.DataFrame({"a": [1]}), "b")
    Traceback (most recent call last):
    ...
    mekscore.errors.InputError: column(s) 'b' not in adata.obs (columns: a); pass existing obs columns
    """  # noqa: E501
    missing = [k for k in keys if k is not None and k not in obs.columns]
    if missing:
        raise InputError(
            f"column(s) {', '.join(map(repr, missing))} not in adata.obs "
            f"(columns: {', '.join(map(str, obs.columns)) or 'none'}); pass existing obs columns"
        )


def clean_labels(column: pd.Series) -> pd.Series:
    """Labels as a categorical of stripped strings, missing and blank labels as ``NaN``.

    Examples
    --------
    >>> clean_labels(pd.Series(["a ", "", None, "b", "a"])).tolist()
    ['a', nan, nan, 'b', 'a']
    """
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    text = pd.Series(uniques, dtype="string").str.strip()
    merged, names = pd.factorize(text.mask(text == "").astype(object), sort=True)
    merged = np.append(merged, -1)  # code -1 (a missing label) stays missing
    labels = pd.Categorical.from_codes(merged[codes], categories=pd.Index(names, dtype=object))
    return pd.Series(labels, index=column.index)


def sample_labels(
    obs: pd.DataFrame, sample_key: str | None, *, bulk: bool
) -> tuple[pd.Series, tuple[str, ...]]:
    """Each observation's sample label (bulk: the observation itself) and a note on missing ones.

    Single-cell data without ``sample_key`` are refused: the replicate is the sample.

    Examples
    --------
    >>> obs = pd.DataFrame({"s": ["a", None, "b"]})
    >>> labels, notes = sample_labels(obs, "s", bulk=False)
    >>> labels.tolist(), notes
    (['a', nan, 'b'], ("1 observation(s) without a 's' label left out",))
    """
    if sample_key is None:
        if not bulk:
            raise InputError(
                "no {sample_key!p}: in single-cell data the replicate is the sample, not the "
                "cell; name the obs column of each cell's sample with {sample_key!p}{likely} "
                "(for bulk data where each observation is one sample pass {bulk})",
                sample_key=None,
                likely=_likely_columns(obs),
                bulk=Setting("bulk", value=True),
            )
        return pd.Series(pd.Categorical(obs.index.astype(str)), index=obs.index), ()
    samples = clean_labels(obs[sample_key])
    missing = int(samples.isna().sum())
    if not missing:
        return samples, ()
    return samples, (f"{missing} observation(s) without a {sample_key!r} label left out",)


def without_stray(
    samples: pd.Series, column: pd.Series, key: str
) -> tuple[pd.Series, tuple[str, ...]]:
    """Leave out observations lacking a label their sample's other observations have.

    A cell whose own condition is missing is not silently counted in its sample's arm.
    Returns the samples (``NaN`` for those observations) and a note.

    Examples
    --------
    >>> samples = pd.Series(["a", "a", "b"])
    >>> kept, notes = without_stray(samples, pd.Series(["v", None, "t"]), "condition")
    >>> kept.tolist(), notes[0][:44]
    (['a', nan, 'b'], "1 observation(s) without a 'condition' label")
    """
    labelled = samples[column.notna()].dropna().unique()
    stray = column.isna().to_numpy() & samples.isin(labelled).to_numpy()
    if not stray.any():
        return samples, ()
    note = (
        f"{int(stray.sum())} observation(s) without a {key!r} label left out "
        "(their sample's other observations have one)"
    )
    return samples.where(~stray), (note,)


def describe_dropped(dropped: dict[str, str]) -> str:
    """Dropped samples as one phrase.

    Examples
    --------
    >>> describe_dropped({"S3": "no condition", "P2-on": "pair incomplete"})
    'S3 (no condition), P2-on (pair incomplete)'
    """
    return ", ".join(f"{s} ({why})" for s, why in dropped.items())


def _likely_columns(obs: pd.DataFrame) -> str:
    likely = [str(c) for c in obs.columns if _LIKELY_SAMPLE.search(str(c))]
    return f"; likely columns: {', '.join(likely)}" if likely else ""
