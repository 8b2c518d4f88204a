"""``tl.compare``: test whether treated samples changed as the literature expects.

Scores are reduced to one value per sample x compartment (the sample is the
replicate, never the cell), treated and control samples are compared with a
sample-level test, q-values are Benjamini-Hochberg over the whole table, and each
signature x compartment gets a verdict against its expected direction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData

from ..io.checks import InputError, looks_like_counts
from ..io.matrix import get_matrix
from ..sig import load_library, resolve
from ..sig.gmt import SignatureSpec
from . import _stats
from ._aggregate import compartment_labels, pseudobulk, sample_means
from .score import score

VERDICTS = ("consistent", "opposite", "no change detected", "not testable")
COLUMNS = (
    "signature", "compartment", "tested_in", "expected", "observed", "n_control",
    "n_treated", "n_pairs", "difference", "effect_size", "ci_low", "ci_high", "p_value",
    "q_value", "verdict", "reason", "n_moved_expected", "n_moved_total", "isolated",
    "flag", "n_dropped", "dropped",
)  # fmt: skip
FLAG_BULK = "compartment not isolated (bulk): score mixes composition and regulation"
FLAG_ALL_CELLS = (
    "compartment not isolated (all cells of each sample): score mixes composition and regulation"
)


@dataclass(frozen=True)
class _Design:
    """Samples of the two arms: ``sheet`` has ``arm`` (control/treated) and ``pair``."""

    sheet: pd.DataFrame
    samples: pd.Series
    paired: bool
    bulk: bool
    test: str


@dataclass(frozen=True)
class _Target:
    """One row of the verdict table: a signature tested in a compartment."""

    signature: str
    compartment: str
    expected: str
    labels: tuple[str, ...]
    flag: str


def compare(
    adata: AnnData,
    *,
    condition_key: str,
    control: str,
    treated: str,
    sample_key: str | None = None,
    compartment_key: str | None = None,
    compartments: Mapping[str, str | Sequence[str]] | None = None,
    pair_key: str | None = None,
    scores: str | pd.DataFrame | None = None,
    method: str | None = None,
    signatures: SignatureSpec = "all",
    test: str | None = None,
    min_cells: int = 10,
    alpha: float = 0.05,
    aggregate: str = "mean",
    in_all_cells: bool = False,
    layer: str | None = None,
    counts_layer: str | None = "counts",
    confidence: float = 0.95,
    return_samples: bool = False,
    key_added: str = "mekscore_compare",
    **method_params: Any,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Test treated against control samples, per signature x compartment, with verdicts.

    Parameters
    ----------
    adata
        Cells x genes (single-cell, with ``sample_key``) or samples x genes (bulk).
    condition_key, control, treated
        ``obs`` column holding the condition and its control / treated labels.
    sample_key
        ``obs`` column naming each cell's sample. ``None`` (or a column with one
        observation per sample) means bulk: each observation is a sample.
    compartment_key
        ``obs`` column of cell types. Each signature is tested on the cells of its
        compartment (``tumor``, ``cd8_t``, ... ; ``any`` = all cells). ``None``: every
        signature is tested on all observations and flagged as not isolated.
    compartments
        Compartment -> labels of ``compartment_key``, e.g. ``{"tumor": ["Malignant"]}``.
        Labels equal to a compartment name (case-insensitive, spaces as ``_``, e.g.
        ``"CD8 T"``) map to it by themselves.
    pair_key
        ``obs`` column identifying the pair (patient) of a paired design; each pair
        needs one control and one treated sample.
    scores
        ``obsm`` key (or a cells x signatures DataFrame) of scores from
        :func:`mekscore.tl.score`. Default: ``obsm["mekscore_<method>"]``, or the only
        score set present.
    method
        Scoring method; scores here with it when its scores are not in ``obsm``, and
        it is the method used to score pseudobulk profiles.
    signatures
        Signatures to score when scoring here (default: the bundled library).
    test
        Unpaired: ``"welch"`` (default) or ``"mannwhitney"``. Paired: ``"ttest"``
        (default) or ``"wilcoxon"``.
    min_cells
        Samples with fewer cells in a compartment are dropped from that test and
        reported (ignored in bulk data).
    alpha
        q-value threshold for ``consistent`` / ``opposite``.
    aggregate
        ``"mean"`` (mean of cell scores per sample x compartment) or ``"pseudobulk"``
        (sum the counts of those cells, log-CPM normalise and score with ``method``).
    in_all_cells
        Also test each signature on all cells of each sample (compartment ``any``).
    layer
        Layer to score when scoring cells here (default ``X``).
    counts_layer
        Layer of raw counts for ``aggregate="pseudobulk"`` (``X`` if it is absent).
    confidence
        Level of the effect-size confidence interval.
    return_samples
        Also return the per-sample table (each treated sample's or pair's change).
    key_added
        ``adata.uns`` key storing ``parameters``, ``results`` and ``samples``.
    **method_params
        Passed to :func:`mekscore.tl.score` when scoring here.

    Returns
    -------
    The verdict table, one row per signature x compartment (columns
    :data:`COLUMNS`); with ``return_samples=True``, ``(verdicts, samples)``.

    Examples
    --------
    >>> import mekscore as mk
    >>> from mekscore.datasets import simulate_study, log_normalise
    >>> adata = log_normalise(simulate_study(seed=0))  # doctest: +SKIP
    >>> mk.tl.compare(adata, condition_key="condition", control="vehicle",
    ...     treated="trametinib", sample_key="sample", compartment_key="cell_type",
    ...     method="mean")  # doctest: +SKIP
    """
    obs = adata.obs
    _check_keys(obs, condition_key, sample_key, compartment_key, pair_key)
    design = _design(adata, condition_key, control, treated, sample_key, pair_key, test)
    if aggregate not in ("mean", "pseudobulk"):
        raise InputError(f"aggregate={aggregate!r}: use 'mean' or 'pseudobulk'")
    if aggregate == "pseudobulk":
        if method is None:
            raise InputError("aggregate='pseudobulk' scores pseudobulk profiles: pass method=...")
        sigs = {s.id: s for s in resolve(signatures)}
        meta = {sid: (s.compartment, s.expected) for sid, s in sigs.items()}
        values = _pseudobulk_source(adata, design, method, sigs, counts_layer, min_cells)
    else:
        cell_scores = _cell_scores(adata, scores, method, signatures, layer, method_params)
        meta = _signature_meta(cell_scores.columns, signatures if method is not None else "all")
        values = _mean_source(cell_scores, design)
    targets = _targets(meta, obs, compartment_key, compartments, in_all_cells, design.bulk)
    results = {}
    for group in _by_compartment(targets):
        mask = _mask(group[0], obs, compartment_key)
        aggregated = values(mask, [t.signature for t in group]) if mask.any() else None
        for target in group:
            results[target] = _evaluate(
                target, aggregated, design, compartment_key, min_cells, confidence
            )
    rows, changes = zip(*(results[t] for t in targets), strict=True)
    table = _finish(list(rows), alpha)
    samples = pd.concat([c for c in changes if len(c)] or [pd.DataFrame()], ignore_index=True)
    if "condition" in samples:  # control first, in tables and plots
        order = [str(control), str(treated)]
        samples["condition"] = pd.Categorical(samples["condition"].astype(str), categories=order)
    params = _parameters(
        condition_key, control, treated, sample_key, compartment_key, compartments, pair_key,
        design, min_cells, alpha, aggregate, method, confidence, in_all_cells,
    )  # fmt: skip
    adata.uns[key_added] = {"parameters": params, "results": table, "samples": samples}
    return (table, samples) if return_samples else table


# --- inputs -------------------------------------------------------------------------


def _check_keys(obs: pd.DataFrame, *keys: str | None) -> None:
    missing = [k for k in keys if k is not None and k not in obs.columns]
    if missing:
        raise InputError(
            f"column(s) {', '.join(map(repr, missing))} not in adata.obs "
            f"(columns: {', '.join(map(str, obs.columns)) or 'none'}); pass existing obs columns"
        )


def _design(adata, condition_key, control, treated, sample_key, pair_key, test) -> _Design:
    obs = adata.obs.rename_axis(index=None)  # an index named like a column is ambiguous
    condition = obs[condition_key].astype(str)
    present = sorted(condition.unique())
    for label in (control, treated):
        if str(label) not in present:
            raise InputError(
                f"label {label!r} not found in obs[{condition_key!r}] (available: "
                f"{', '.join(present) or 'none'}); pass control=/treated= from these labels"
            )
    if str(control) == str(treated):
        raise InputError(f"control and treated are both {control!r}; pass two different labels")
    names = pd.Series(obs.index.astype(str), index=obs.index)
    samples = names if sample_key is None else obs[sample_key].astype(str)
    arm = condition.map({str(control): "control", str(treated): "treated"})
    keep = arm.notna().to_numpy()
    sheet = pd.DataFrame({"sample": samples[keep], "arm": arm[keep], "condition": condition[keep]})
    sheet["pair"] = obs[pair_key].astype(str)[keep] if pair_key is not None else ""
    per_sample = sheet.groupby("sample", sort=True).nunique()
    mixed = per_sample.index[(per_sample["arm"] > 1) | (per_sample["pair"] > 1)].tolist()
    if mixed:
        raise InputError(
            f"sample(s) {mixed[:5]} span several conditions or pairs; each sample "
            f"({sample_key or 'observation'}) must have one condition and one pair"
        )
    sheet = sheet.drop_duplicates("sample").set_index("sample").sort_index()
    if pair_key is not None:
        _check_pairs(sheet, pair_key)
    paired = pair_key is not None
    return _Design(sheet, samples, paired, bool(samples.is_unique), _test_name(test, paired))


def _check_pairs(sheet: pd.DataFrame, pair_key: str) -> None:
    counts = sheet.groupby(["pair", "arm"]).size()
    dup = counts[counts > 1]
    if len(dup):
        pair, arm = dup.index[0]
        raise InputError(
            f"pair {pair!r} has {dup.iloc[0]} {arm} samples; obs[{pair_key!r}] must give each "
            "pair one control and one treated sample"
        )


def _test_name(test: str | None, paired: bool) -> str:
    allowed = _stats.PAIRED_TESTS if paired else _stats.UNPAIRED_TESTS
    if test is None:
        return allowed[0]
    if test not in allowed:
        design = "paired (pair_key given)" if paired else "unpaired"
        raise InputError(f"test={test!r} is not for a {design} design; use one of {allowed}")
    return test


# --- scores -------------------------------------------------------------------------


def _signature_meta(ids, signatures: SignatureSpec) -> dict[str, tuple[str, str]]:
    """Signature id -> (compartment, expected); ids outside the library are ``any``/``unclear``."""
    known = {s.id: s for s in load_library().values()}
    if not isinstance(signatures, str):
        known.update({s.id: s for s in resolve(signatures)})
    return {
        sid: (known[sid].compartment, known[sid].expected) if sid in known else ("any", "unclear")
        for sid in map(str, ids)
    }


def _cell_scores(adata, scores, method, signatures, layer, method_params) -> pd.DataFrame:
    if isinstance(scores, pd.DataFrame):
        if not scores.index.equals(adata.obs_names):
            raise InputError("scores must be indexed by adata.obs_names; reindex it first")
        return scores
    key = scores if scores is not None else _default_key(adata, method)
    if key not in adata.obsm and method is not None and scores is None:
        score(adata, signatures, method=method, layer=layer, **method_params)
    if key not in adata.obsm:
        raise InputError(
            f"no scores in adata.obsm[{key!r}] (obsm keys: {', '.join(adata.obsm) or 'none'}); "
            "run mekscore.tl.score first, or pass method=... to score here"
        )
    return pd.DataFrame(adata.obsm[key], index=adata.obs_names)


def _default_key(adata, method: str | None) -> str:
    if method is not None:
        return f"mekscore_{method}"
    stored = [p["obsm_key"] for p in adata.uns.get("mekscore", {}).values()]
    found = [k for k in stored if k in adata.obsm]
    if not found:  # no provenance: any obsm entry named like tl.score's output
        found = [k for k in adata.obsm if str(k).startswith("mekscore_")]
    if len(found) == 1:
        return found[0]
    if found:
        raise InputError(f"several score sets in adata.obsm ({', '.join(found)}); pass scores=")
    raise InputError(
        f"no scores found (obsm keys: {', '.join(adata.obsm) or 'none'}); run "
        "mekscore.tl.score first, or pass method=... to score here"
    )


def _mean_source(cell_scores: pd.DataFrame, design: _Design):
    """``(mask, ids) -> (samples x ids mean scores, cells per sample)``."""

    def means(mask, ids):
        return sample_means(cell_scores[ids], design.samples, mask)

    return means


def _pseudobulk_source(adata, design: _Design, method: str, sigs, counts_layer, min_cells):
    """``(mask, ids) -> (samples x ids pseudobulk scores, cells per sample)``.

    Counts of the masked cells are summed per sample (samples under ``min_cells``
    left out), normalised to log1p(CPM) and scored with ``method``.
    """
    counts = _counts(adata, counts_layer)

    def pseudobulk_scores(mask, ids):
        sums, n_cells = pseudobulk(counts, design.samples, mask)
        keep = (n_cells >= (1 if design.bulk else min_cells)).to_numpy()
        if not keep.any():
            return pd.DataFrame(np.nan, index=n_cells.index, columns=ids), n_cells
        profile = AnnData(sums[keep].astype(np.float64), var=pd.DataFrame(index=adata.var_names))
        profile.obs_names = n_cells.index[keep].astype(str)
        import scanpy as sc

        sc.pp.normalize_total(profile, target_sum=1e6)
        sc.pp.log1p(profile)
        values = score(profile, [sigs[i] for i in ids], method=method, inplace=False)
        return values, n_cells

    return pseudobulk_scores


def _counts(adata, counts_layer: str | None):
    if counts_layer is not None and counts_layer in adata.layers:
        return adata.layers[counts_layer]
    X = get_matrix(adata)
    if not looks_like_counts(X[: min(2000, X.shape[0])]):
        raise InputError(
            f"aggregate='pseudobulk' needs raw counts: layer {counts_layer!r} is absent and X "
            "does not look like counts; pass counts_layer=<layer with counts>"
        )
    return X


# --- targets ------------------------------------------------------------------------


def _targets(meta, obs, compartment_key, compartments, in_all_cells, bulk) -> list[_Target]:
    if compartment_key is None:
        flag = FLAG_BULK if bulk else FLAG_ALL_CELLS
        return [
            _Target(sid, comp, expected, (), "" if comp == "any" else flag)
            for sid, (comp, expected) in meta.items()
        ]
    labels = compartment_labels(obs[compartment_key].astype(str).unique(), compartments)
    targets = []
    for sid, (comp, expected) in meta.items():
        targets.append(_Target(sid, comp, expected, tuple(labels[comp]), ""))
        if in_all_cells and comp != "any":
            targets.append(_Target(sid, "any", expected, tuple(labels["any"]), ""))
    return targets


def _by_compartment(targets: list[_Target]) -> list[list[_Target]]:
    """Targets grouped by the cells they are tested on (first-seen order)."""
    groups: dict[tuple[str, ...], list[_Target]] = {}
    for target in targets:
        groups.setdefault(target.labels, []).append(target)
    return list(groups.values())


def _mask(target: _Target, obs: pd.DataFrame, compartment_key: str | None) -> np.ndarray:
    if compartment_key is None:
        return np.ones(len(obs), dtype=bool)
    return obs[compartment_key].astype(str).isin(target.labels).to_numpy()


# --- one test -----------------------------------------------------------------------


def _evaluate(target, aggregated, design, compartment_key, min_cells, confidence):
    """The verdict-table row (before BH) and per-sample changes of one target.

    ``aggregated`` is ``(samples x signatures values, cells per sample)`` of the
    target's compartment, or ``None`` when the compartment has no cells.
    """
    row = _blank_row(target, compartment_key)
    if aggregated is None:
        return _untestable(row, _absent_reason(target, compartment_key)), _no_changes()
    sample_values, n_cells = aggregated
    column = sample_values[target.signature].astype(float)
    if column.isna().all():
        return _untestable(row, "signature not scored (too few of its genes)"), _no_changes()
    in_design = n_cells.index.intersection(design.sheet.index)
    small = [] if design.bulk else [s for s in in_design if n_cells[s] < min_cells]
    row["n_dropped"] = len(small)
    row["dropped"] = ", ".join(f"{s} ({n_cells[s]} cells)" for s in small)
    kept = column.reindex(in_design.difference(small)).dropna()
    sheet = design.sheet.loc[kept.index]
    ctrl, trt = kept[sheet["arm"] == "control"], kept[sheet["arm"] == "treated"]
    row["n_control"], row["n_treated"] = len(ctrl), len(trt)
    if design.paired:
        ctrl, trt = _matched(ctrl, trt, sheet)
        row["n_pairs"] = len(ctrl)
    shortage = _shortage(row, design.paired, min_cells)
    if shortage:
        return _untestable(row, shortage), _no_changes()
    run = _stats.compare_paired if design.paired else _stats.compare_unpaired
    result = run(ctrl.to_numpy(), trt.to_numpy(), design.test, confidence)
    row.update(
        difference=result.difference, effect_size=result.effect_size, ci_low=result.ci_low,
        ci_high=result.ci_high, p_value=result.p_value, observed=_direction(result.difference),
    )  # fmt: skip
    change = _changes(kept, ctrl, trt, n_cells, design, target)
    if target.expected in ("up", "down"):
        row["n_moved_expected"] = int(change["moved_expected"].sum())
    row["n_moved_total"] = int((change["moved"] != "").sum())
    return row, change


def _blank_row(target: _Target, compartment_key: str | None) -> dict:
    return {
        "signature": target.signature,
        "compartment": target.compartment,
        "tested_in": _tested_in(target, compartment_key),
        "expected": target.expected,
        "observed": "",
        "n_control": 0, "n_treated": 0, "n_pairs": 0,
        "difference": np.nan, "effect_size": np.nan, "ci_low": np.nan, "ci_high": np.nan,
        "p_value": np.nan,
        "reason": "",
        "n_moved_expected": pd.NA, "n_moved_total": 0,
        "isolated": not target.flag, "flag": target.flag,
        "n_dropped": 0, "dropped": "",
    }  # fmt: skip


def _tested_in(target: _Target, compartment_key: str | None) -> str:
    if compartment_key is None:
        return "all observations"
    return "all cells" if target.compartment == "any" else ", ".join(target.labels)


def _untestable(row: dict, reason: str) -> dict:
    row["reason"] = reason
    row["verdict"] = "not testable"
    return row


def _absent_reason(target: _Target, compartment_key: str) -> str:
    if not target.labels:
        return (
            f"compartment absent: no label of obs[{compartment_key!r}] maps to "
            f"{target.compartment!r} (pass compartments={{{target.compartment!r}: [...]}})"
        )
    return f"compartment absent: no cells labelled {', '.join(target.labels)}"


def _matched(ctrl: pd.Series, trt: pd.Series, sheet: pd.DataFrame):
    """Control and treated values indexed by pair (complete pairs only, sorted)."""
    c = ctrl.set_axis(sheet.loc[ctrl.index, "pair"].to_numpy())
    t = trt.set_axis(sheet.loc[trt.index, "pair"].to_numpy())
    pairs = c.index.intersection(t.index).sort_values()
    return c[pairs], t[pairs]


def _shortage(row: dict, paired: bool, min_cells: int) -> str:
    dropped = (
        f"; {row['n_dropped']} sample(s) dropped with < {min_cells} cells"
        if row["n_dropped"]
        else ""
    )
    if paired and row["n_pairs"] < 2:
        return f"too few pairs (n_pairs={row['n_pairs']}; need >= 2){dropped}"
    if not paired and min(row["n_control"], row["n_treated"]) < 2:
        return (
            f"too few samples per arm (n_control={row['n_control']}, "
            f"n_treated={row['n_treated']}; need >= 2){dropped}"
        )
    return ""


def _direction(value: float) -> str:
    return "up" if value > 0 else "down" if value < 0 else "none"


def _changes(kept, ctrl, trt, n_cells, design: _Design, target: _Target) -> pd.DataFrame:
    """Per-sample view: each sample's score; treated samples' change and direction.

    The change is the paired difference (paired designs; treated samples whose pair
    has a control) or the standardised distance from the control samples,
    ``(x - mean_control) / sd_control``.
    """
    sheet = design.sheet.loc[kept.index]
    change = pd.Series(np.nan, index=kept.index)
    if design.paired:
        treated = sheet[sheet["arm"] == "treated"]
        names = pd.Series(treated.index, index=treated["pair"])[trt.index]
        change[names.to_numpy()] = trt.to_numpy() - ctrl.to_numpy()
        kind = "paired difference"
    else:
        sd = float(ctrl.std(ddof=1))
        change[trt.index] = [_stats.standardise(v - ctrl.mean(), sd) for v in trt]
        kind = "standardised distance from control"
    moved = ["" if np.isnan(v) else _direction(v) for v in change]
    directional = target.expected in ("up", "down")
    frame = pd.DataFrame(
        {
            "signature": target.signature,
            "compartment": target.compartment,
            "sample": kept.index.astype(str),
            "condition": sheet["condition"].to_numpy(),
            "pair": sheet["pair"].to_numpy(),
            "n_cells": n_cells.reindex(kept.index).to_numpy(dtype=np.int64),
            "score": kept.to_numpy(dtype=float),
            "change": change.to_numpy(),
            "change_type": np.where(change.notna(), kind, ""),
            "moved": moved,
        }
    )
    frame["moved_expected"] = pd.array(
        [m == target.expected if m and directional else pd.NA for m in moved], dtype="boolean"
    )
    return frame


def _no_changes() -> pd.DataFrame:
    return pd.DataFrame()


# --- table --------------------------------------------------------------------------


def _finish(rows: list[dict], alpha: float) -> pd.DataFrame:
    table = pd.DataFrame(rows)
    table["q_value"] = _stats.benjamini_hochberg(table["p_value"].to_numpy(dtype=float))
    for i, row in table.iterrows():
        if row.get("verdict") != "not testable":
            table.loc[i, ["verdict", "reason"]] = _verdict(row, alpha)
    table["n_moved_expected"] = table["n_moved_expected"].astype("Int64")
    return table[list(COLUMNS)]


def _verdict(row: pd.Series, alpha: float) -> tuple[str, str]:
    q, observed, expected = row["q_value"], row["observed"], row["expected"]
    note = f"; {row['n_dropped']} sample(s) dropped: {row['dropped']}" if row["n_dropped"] else ""
    if expected not in ("up", "down"):
        return "not testable", f"expected direction unclear ({expected}); observed {observed}{note}"
    if q > alpha:
        return "no change detected", f"q = {q:.3g} > {alpha}{note}"
    verdict = "consistent" if observed == expected else "opposite"
    return verdict, f"q = {q:.3g} <= {alpha}; observed {observed}, expected {expected}{note}"


def _parameters(
    condition_key, control, treated, sample_key, compartment_key, compartments, pair_key,
    design, min_cells, alpha, aggregate, method, confidence, in_all_cells,
) -> dict:  # fmt: skip
    plain = {
        "condition_key": condition_key,
        "control": str(control),
        "treated": str(treated),
        "sample_key": sample_key,
        "compartment_key": compartment_key,
        "pair_key": pair_key,
        "design": "paired" if design.paired else "unpaired",
        "bulk": design.bulk,
        "test": design.test,
        "effect_size": "cohen_dz" if design.paired else "hedges_g",
        "min_cells": min_cells,
        "alpha": alpha,
        "aggregate": aggregate,
        "method": method,
        "confidence": confidence,
        "in_all_cells": in_all_cells,
    }
    out: dict[str, Any] = {k: ("None" if v is None else v) for k, v in plain.items()}
    out["compartments"] = {
        k: [v] if isinstance(v, str) else list(map(str, v)) for k, v in (compartments or {}).items()
    }
    return out
