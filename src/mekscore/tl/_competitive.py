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
from dataclasses import dataclass

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse, stats

from ..errors import InputError
from ..genes import match_signatures
from ..pp import log_normalize
from ..sig import resolve
from ..sig.gmt import SignatureSpec
from ._aggregate import SampleSums
from ._designspec import Design
from ._rows import shortage_reason
from ._settings import choose_counts
from ._sheet import SampleSheet, build_sheet
from ._targets import Compartments, Target

COLUMNS = (
    "signature",
    "compartment",
    "tested_in",
    "n_control",
    "n_treated",
    "n_genes",
    "es",
    "nes",
    "nom_p",
    "fdr",
    "lead_genes",
    "reason",
)
_GSEA_COLUMNS = {"ES": "es", "NES": "nes", "NOM p-val": "nom_p", "FDR q-val": "fdr"}


@dataclass(frozen=True)
class Gsea:
    """Settings of the pre-ranked GSEA: smallest set, permutations, seed."""

    min_size: int = 3
    permutation_num: int = 200
    seed: int = 0


def competitive(  # noqa: PLR0913 - public keyword API, like scanpy.tl.rank_genes_groups
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
    gene_symbols: str | None = None,
    species: str = "auto",
    aliases: bool = True,
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
    gene_symbols, species, aliases
        Gene matching, as in :func:`mekscore.tl.score`.
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
    design = Design.two_arm(condition_key=condition_key, control=control, treated=treated)
    sheet = build_sheet(adata.obs, design, sample_key=sample_key, bulk=bulk)
    cells = Compartments.from_obs(adata.obs, compartment_key, compartments)
    counts = choose_counts(adata, counts_layer)
    if counts is None:
        raise InputError(
            f"the competitive view needs raw counts: layer {counts_layer!r} is absent and X "
            "does not look like counts; pass counts_layer naming the layer of counts"
        )
    names = counts.gene_names(gene_symbols)
    sigs = resolve(signatures)
    matches, _ = match_signatures(sigs, names, species, aliases=aliases)
    gene_sets = {m.signature.id: names[m.gene_set.up].tolist() for m in matches}
    meta = {s.id: (s.compartment, s.expected, s.combination) for s in sigs}
    targets = cells.targets(meta, in_all_cells=False, bulk=sheet.bulk)
    rankings = Rankings(SampleSums(counts.X, sheet.samples, cells.column), sheet, names)
    gsea = Gsea(min_size, permutation_num, seed)
    rows = {}
    for group, mask in cells.groups(targets):
        found = _group_rows(
            group, mask, rankings, cells, gene_sets=gene_sets, gsea=gsea, min_cells=min_cells
        )
        rows.update({(r["signature"], r["compartment"]): r for r in found})
    return pd.DataFrame([rows[(t.signature, t.compartment)] for t in targets], columns=COLUMNS)


@dataclass(frozen=True)
class Ranked:
    """The genes of one cell mask ranked by treated-vs-control Welch t (``None``: too few)."""

    ranking: pd.Series | None
    n_control: int
    n_treated: int
    reason: str = ""


class Rankings:
    """Per-gene Welch t rankings of the samples' pseudobulk profiles, by cell mask."""

    def __init__(self, sums: SampleSums, sheet: SampleSheet, genes: pd.Index) -> None:
        self._sums, self._sheet, self._genes = sums, sheet, list(genes)

    def __call__(self, mask: np.ndarray, *, min_cells: int) -> Ranked:
        """The ranking of the masked cells' pseudobulk profiles (samples with enough cells)."""
        sums, n_cells = self._sums(mask)
        keep = n_cells.index.isin(self._sheet.table.index)
        if not self._sheet.bulk:
            keep &= (n_cells >= min_cells).to_numpy()
        arms = self._sheet.table.loc[n_cells.index[keep], "arm"].to_numpy()
        n_control, n_treated = int((arms == "control").sum()), int((arms == "treated").sum())
        reason = shortage_reason(n_control, n_treated, 0, paired=False)
        if reason:
            return Ranked(None, n_control, n_treated, reason)
        log_expr = log_normalize(sums[keep])
        log_expr = log_expr.toarray() if sparse.issparse(log_expr) else log_expr  # a few samples
        ranking = welch_ranking(log_expr, self._genes, arms == "treated")
        return Ranked(ranking, n_control, n_treated)


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


def _group_rows(group, mask, rankings: Rankings, cells: Compartments, **options) -> list[dict]:
    """Rows of the targets tested on one set of cells (``options``: gene_sets, gsea, min_cells)."""
    if not mask.any():
        return [_row(t, cells) | {"reason": cells.absent_reason(t)} for t in group]
    ranked = rankings(mask, min_cells=options["min_cells"])
    base = [
        _row(t, cells) | {"n_control": ranked.n_control, "n_treated": ranked.n_treated}
        for t in group
    ]
    if ranked.ranking is None:
        return [row | {"reason": ranked.reason} for row in base]
    sets = {
        t.signature: [g for g in options["gene_sets"][t.signature] if g in ranked.ranking.index]
        for t in group
    }
    gsea = options["gsea"]
    results = _prerank(
        ranked.ranking, {k: v for k, v in sets.items() if len(v) >= gsea.min_size}, gsea
    )
    for row in base:
        row["n_genes"] = len(sets[row["signature"]])
        if row["signature"] in results.index:
            found = results.loc[row["signature"]]
            row |= {ours: found[theirs] for theirs, ours in _GSEA_COLUMNS.items()}
            row["lead_genes"] = found["Lead_genes"]
        else:
            row["reason"] = f"fewer than {gsea.min_size} signature genes ranked"
    return base


def _row(target: Target, cells: Compartments) -> dict:
    return {
        "signature": target.signature,
        "compartment": target.compartment,
        "tested_in": cells.tested_in(target),
        "n_control": 0,
        "n_treated": 0,
        "n_genes": 0,
        "es": np.nan,
        "nes": np.nan,
        "nom_p": np.nan,
        "fdr": np.nan,
        "lead_genes": "",
        "reason": "",
    }


def _prerank(ranking: pd.Series, gene_sets: dict, gsea: Gsea) -> pd.DataFrame:
    """The prerank table of gseapy, which (slow to import) is imported only here."""
    if not gene_sets:
        return pd.DataFrame(columns=[*_GSEA_COLUMNS, "Lead_genes"])
    import gseapy

    res = gseapy.prerank(
        rnk=ranking,
        gene_sets=gene_sets,
        min_size=gsea.min_size,
        max_size=max(len(v) for v in gene_sets.values()),
        permutation_num=gsea.permutation_num,
        seed=gsea.seed,
        threads=1,
        outdir=None,
        no_plot=True,
        verbose=False,
    )
    return res.res2d.set_index("Term")
