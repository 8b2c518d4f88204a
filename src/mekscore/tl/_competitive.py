"""``tl.competitive``: pre-ranked GSEA of sample-level differential statistics.

A competitive view next to :func:`mekscore.tl.compare`: does a signature rank
higher among treated-vs-control changes than other genes? Per compartment, counts
are summed per sample (pseudobulk), normalised with :func:`mekscore.pp.log_normalize`
(log1p CP10k, the package's one normalisation), each gene gets a
Welch t statistic (treated vs control samples), and :func:`gseapy.prerank` tests
each signature's ``up`` genes against that ranking.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse, stats

from ..errors import InputError
from ..genes import match_signatures
from ..pp import log_normalize
from ..sig import resolve
from ..sig.gmt import SignatureSpec
from ._aggregate import pseudobulk
from ._design import Design, build_design, check_keys
from ._sources import counts_matrix
from ._targets import (
    Target,
    absent_reason,
    by_cells,
    cell_mask,
    compartment_map,
    make_targets,
    tested_in,
)

COLUMNS = (
    "signature", "compartment", "tested_in", "n_control", "n_treated", "n_genes",
    "es", "nes", "nom_p", "fdr", "lead_genes", "reason",
)  # fmt: skip


def competitive(
    adata: AnnData,
    *,
    condition_key: str,
    control: str,
    treated: str,
    sample_key: str | None = None,
    compartment_key: str | None = None,
    compartments: Mapping[str, str | Sequence[str]] | None = None,
    signatures: SignatureSpec = "all",
    counts_layer: str | None = "counts",
    min_cells: int = 10,
    min_size: int = 3,
    permutation_num: int = 200,
    seed: int = 0,
    species: str = "auto",
    bulk: bool = False,
) -> pd.DataFrame:
    """Pre-ranked GSEA (NES, FDR) per signature x compartment of treated vs control samples.

    Parameters
    ----------
    adata
        Raw counts, cells x genes (with ``sample_key``) or samples x genes (bulk).
    condition_key, control, treated, sample_key, compartment_key, compartments
        As in :func:`mekscore.tl.compare`. Pairing is not used.
    signatures
        Signatures to test (default: the bundled library); only ``up`` genes are used.
    counts_layer
        Layer holding raw counts (``X`` if absent and ``X`` looks like counts).
    min_cells
        Samples with fewer cells in the compartment are left out (single-cell only).
    min_size
        Signatures with fewer genes among the ranked genes are not tested.
    permutation_num, seed
        Gene-set permutations and their seed (``gseapy.prerank``, one thread).
    species
        ``"human"``, ``"mouse"`` or ``"auto"``, for translating library signatures.
    bulk
        Each observation is one sample (no ``sample_key`` needed).

    Returns
    -------
    One row per signature x compartment (columns :data:`COLUMNS`); ``fdr`` is
    gseapy's FDR over the signatures tested in the same compartment. Rows that
    could not be tested have NaN statistics and a ``reason``.

    Examples
    --------
    >>> from mekscore.datasets import simulate_study
    >>> adata = simulate_study(seed=0)  # doctest: +SKIP
    >>> table = competitive(adata, condition_key="condition", control="vehicle",
    ...     treated="trametinib", sample_key="sample",
    ...     compartment_key="cell_type")  # doctest: +SKIP
    """
    design = build_design(
        adata.obs, condition_key=condition_key, control=control, treated=treated,
        sample_key=sample_key, pair_key=None, test=None, bulk=bulk,
    )  # fmt: skip
    check_keys(adata.obs, compartment_key)
    labels = compartment_map(adata.obs, compartment_key, compartments)
    sigs = {s.id: s for s in resolve(signatures)}
    matches, _ = match_signatures(list(sigs.values()), adata.var_names.astype(str), species)
    gene_sets = {
        m.signature.id: adata.var_names[m.gene_set.up].astype(str).tolist() for m in matches
    }
    meta = {sid: (s.compartment, s.expected) for sid, s in sigs.items()}
    targets = make_targets(meta, labels, False, design.bulk)
    counts = counts_matrix(adata, counts_layer)
    if counts is None:
        raise InputError(
            f"the competitive view needs raw counts: layer {counts_layer!r} is absent and X "
            "does not look like counts; pass counts_layer=<layer with counts>"
        )
    rows = []
    for group in by_cells(targets):
        mask = cell_mask(group[0], adata.obs, compartment_key) & design.samples.notna().to_numpy()
        base = [_row(t, compartment_key) for t in group]
        if not mask.any():
            rows += [dict(r, reason=absent_reason(group[0], compartment_key)) for r in base]
            continue
        rows += _compartment_rows(base, group, counts, mask, design, gene_sets, adata.var_names,
                                  min_cells, min_size, permutation_num, seed)  # fmt: skip
    by_target = {(r["signature"], r["compartment"]): r for r in rows}
    ordered = [by_target[(t.signature, t.compartment)] for t in targets]
    return pd.DataFrame(ordered, columns=list(COLUMNS))


def welch_ranking(log_cpm: np.ndarray, genes: Sequence[str], treated: np.ndarray) -> pd.Series:
    """Per-gene Welch t of treated vs control rows, sorted decreasing; NaN genes dropped.

    Examples
    --------
    >>> x = np.array([[1.0, 5.0], [1.2, 5.1], [2.0, 5.0], [2.3, 5.2]])
    >>> welch_ranking(x, ["A", "B"], np.array([False, False, True, True])).index.tolist()
    ['A', 'B']
    """
    t = stats.ttest_ind(log_cpm[treated], log_cpm[~treated], axis=0, equal_var=False).statistic
    ranking = pd.Series(t, index=pd.Index(genes, dtype=str)).dropna()
    return ranking.sort_values(ascending=False)


def _compartment_rows(base, group, counts, mask, design: Design, gene_sets, var_names,
                      min_cells, min_size, permutation_num, seed) -> list[dict]:  # fmt: skip
    sums, n_cells = pseudobulk(counts, design.samples, mask)
    keep = n_cells.index.isin(design.sheet.index)
    if not design.bulk:
        keep &= (n_cells >= min_cells).to_numpy()
    arms = design.sheet.loc[n_cells.index[keep], "arm"].to_numpy()
    n_control, n_treated = int((arms == "control").sum()), int((arms == "treated").sum())
    base = [dict(r, n_control=n_control, n_treated=n_treated) for r in base]
    if min(n_control, n_treated) < 2:
        reason = (
            f"too few samples per arm (n_control={n_control}, n_treated={n_treated}; need >= 2)"
        )
        return [dict(r, reason=reason) for r in base]
    log_expr = log_normalize(sums[keep])
    log_expr = log_expr.toarray() if sparse.issparse(log_expr) else log_expr  # a few samples
    ranking = welch_ranking(log_expr, list(var_names), arms == "treated")
    sets = {t.signature: [g for g in gene_sets[t.signature] if g in ranking.index] for t in group}
    testable = {k: v for k, v in sets.items() if len(v) >= min_size}
    results = _prerank(ranking, testable, min_size, permutation_num, seed)
    out = []
    for row, target in zip(base, group, strict=True):
        row["n_genes"] = len(sets[target.signature])
        if target.signature in results.index:
            res = results.loc[target.signature]
            row.update(es=res["ES"], nes=res["NES"], nom_p=res["NOM p-val"],
                       fdr=res["FDR q-val"], lead_genes=res["Lead_genes"])  # fmt: skip
        else:
            row["reason"] = f"fewer than {min_size} signature genes ranked"
        out.append(row)
    return out


def _row(target: Target, compartment_key: str | None) -> dict:
    return {
        "signature": target.signature,
        "compartment": target.compartment,
        "tested_in": tested_in(target, compartment_key),
        "n_control": 0, "n_treated": 0, "n_genes": 0,
        "es": np.nan, "nes": np.nan, "nom_p": np.nan, "fdr": np.nan,
        "lead_genes": "", "reason": "",
    }  # fmt: skip


def _prerank(ranking, gene_sets, min_size, permutation_num, seed) -> pd.DataFrame:
    """The prerank table of gseapy, which (slow to import) is imported only here."""
    if not gene_sets:
        return pd.DataFrame(columns=["ES", "NES", "NOM p-val", "FDR q-val", "Lead_genes"])
    import gseapy

    res = gseapy.prerank(
        rnk=ranking,
        gene_sets=gene_sets,
        min_size=min_size,
        max_size=max(len(v) for v in gene_sets.values()),
        permutation_num=permutation_num,
        seed=seed,
        threads=1,
        outdir=None,
        no_plot=True,
        verbose=False,
    )
    return res.res2d.set_index("Term")
