"""``tl.compare_methods``: the same comparison scored with several methods, and their consensus.

Scoring methods answer slightly different questions: rank-based methods (UCell,
AUCell, singscore, ssGSEA) read each sample's own gene ranks, standardised methods
(z-score, GSVA, PLAGE, scanpy, mean) put genes on a common scale across samples. A
verdict that holds with one method of each kind is robust to that choice; one that
flips is marked ``method-dependent``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from anndata import AnnData

from ..errors import InputError
from ..methods import METHOD_NAMES, RANK_BASED, STANDARDISED

_KEYS = ["signature", "kind", "compartment", "expected", "family"]
_PER_METHOD = ["observed", "effect_size", "q_value", "verdict"]


def compare_methods(
    adata: AnnData,
    methods: Sequence[str] = ("singscore", "mean"),
    *,
    key_added: str = "mekscore_compare",
    **compare_kwargs: Any,
) -> pd.DataFrame:
    """Run :func:`mekscore.tl.compare` once per scoring method and report the consensus.

    The same as ``compare(adata, method=methods, ...)``: the comparison record under
    ``adata.uns[key_added]`` holds the first method's verdicts (what the report shows)
    and, under ``methods``, the table returned here.

    Parameters
    ----------
    adata
        As for :func:`~mekscore.tl.compare`.
    methods
        Two or more scoring methods; include a rank-based and a standardised one
        (the default: ``singscore`` and ``mean``) so the consensus spans both kinds.
    key_added
        ``adata.uns`` key of the comparison record.
    **compare_kwargs
        Everything else :func:`~mekscore.tl.compare` takes (not ``method`` or ``scores``).

    Returns
    -------
    One row per signature x compartment: the shared columns, then ``observed``,
    ``effect_size``, ``q_value`` and ``verdict`` per method (suffixed ``_<method>``),
    and ``consensus``: the common verdict when every method agrees, else
    ``method-dependent``.

    Examples
    --------
    >>> import mekscore as mk
    >>> bulk = mk.datasets.simulate_study(seed=0, n_genes=500, bulk=True)
    >>> table = mk.tl.compare_methods(bulk, ["singscore", "zscore"], condition_key="condition",
    ...     control="vehicle", treated="trametinib", sample_key="sample", composition=False,
    ...     qc=False)
    >>> "consensus" in table and "verdict_zscore" in table
    True
    """
    from ._compare import compare

    clash = sorted({"method", "scores", "inplace"} & set(compare_kwargs))
    if clash:
        raise InputError(f"compare_methods scores with each method itself; drop {clash}")
    compare(adata, method=list(methods), key_added=key_added, **compare_kwargs)
    return adata.uns[key_added]["methods"]


def consensus(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Merge per-method verdict tables side by side, with a ``consensus`` column.

    Examples
    --------
    >>> row = {"signature": "x", "kind": "program", "compartment": "tumor", "expected": "up",
    ...        "family": "directional", "observed": "up", "effect_size": 1.0, "q_value": 0.01}
    >>> a = pd.DataFrame([{**row, "verdict": "consistent"}])
    >>> b = pd.DataFrame([{**row, "verdict": "no change detected"}])
    >>> consensus({"ucell": a, "zscore": b})["consensus"].tolist()
    ['method-dependent']
    """
    merged = None
    for method, table in tables.items():
        part = table[_KEYS + _PER_METHOD].rename(columns={c: f"{c}_{method}" for c in _PER_METHOD})
        merged = part if merged is None else merged.merge(part, on=_KEYS, how="outer", sort=False)
    verdicts = merged[[f"verdict_{m}" for m in tables]]
    agree = verdicts.nunique(axis=1, dropna=False) == 1
    merged["consensus"] = verdicts.iloc[:, 0].where(agree, "method-dependent")
    return merged


def check_methods(methods: Sequence[str | None]) -> list[str]:
    """The distinct methods, refused unless they are two or more of both kinds.

    Examples
    --------
    >>> check_methods(["singscore", "mean", "mean"])
    ['singscore', 'mean']
    """
    methods = list(dict.fromkeys(methods))
    unknown = [m for m in methods if m not in METHOD_NAMES]
    if unknown:
        raise InputError(f"unknown method(s) {unknown}; use some of {', '.join(METHOD_NAMES)}")
    if len(methods) < 2:
        raise InputError("comparing needs at least two methods, e.g. singscore and mean")
    if not (set(methods) & set(RANK_BASED) and set(methods) & set(STANDARDISED)):
        raise InputError(
            f"methods {methods} are all of one kind; include a rank-based one "
            f"({', '.join(RANK_BASED)}) and a standardised one ({', '.join(STANDARDISED)})"
        )
    return methods
