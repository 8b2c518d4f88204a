"""Run the signature positive/negative controls on real public data; write docs/validation.md.

``python scripts/make_validation.py`` scores each library signature in a contrast where
published biology says its program differs (a cell type, a genotype, a tissue), scores
expression-matched random gene sets of the same size in the same contrast (the negative
control), writes ``docs/validation.md`` and one small figure per signature in
``docs/validation/``, and prints the README table. ``--check`` exits 1 if the page is
stale. The data are the offline reference files the tests use (``tests/data``, then
``../shared/reference``, then installed packages; see ``tests/data/SOURCES.md``).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
from scipy import stats

import mekscore as mk
from mekscore.genes import match_signatures
from mekscore.io.read import read_input
from mekscore.sig import Signature, load_library
from mekscore.tl._qc import gene_means, matched_random_sets

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "validation.md"
FIGURES = ROOT / "docs" / "validation"
N_RANDOM, SEED, ALPHA, PERCENTILE = 200, 0, 0.05, 95.0
#: Below this fraction of its genes found, a shown control is reported as partial.
PARTIAL = 0.5

#: dataset key -> (reference file parts, description, citation for the page)
DATASETS = {
    "wu2020": (
        ("wu2020_tcells_200cells_scirpy.h5ad",),
        "Wu 2020 T cells (200 cells, 14 patients; tumour, adjacent normal, blood)",
        "Wu et al. 2020 Nature 579:274, via the scirpy wheel",
    ),
    "pbmc68k": (
        ("pbmc68k_reduced_scanpy.h5ad",),
        "10x PBMC 68k reduced (700 cells, 765 genes, log data in .raw)",
        "Zheng et al. 2017 Nat Commun 8:14049, via the scanpy wheel",
    ),
    "nci60": (
        ("ssgsea_genepattern", "P53_14samples_collapsed_symbols.gct"),
        "NCI-60 P53 panel (14 cancer cell lines, microarray)",
        "GSEA P53 example data (Subramanian et al. 2005 PNAS), GenePattern ssGSEA module",
    ),
}
BRAF_V600E = ("COLO 205", "SK-MEL-5", "UACC-62", "UACC-257")


def _label(column: str, high: tuple[str, ...]) -> Callable[[pd.DataFrame], pd.Series]:
    """Observations whose ``obs[column]`` is in ``high`` form the high group."""
    return lambda obs: obs[column].astype(str).isin(high)


def _names(high: tuple[str, ...]) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda obs: pd.Series(obs.index.isin(high), index=obs.index)


PBMC_APC = ("CD19+ B", "Dendritic", "CD14+ Monocyte")
PBMC_LYMPHOCYTES = (
    "CD4+/CD25 T Reg",
    "CD8+ Cytotoxic T",
    "CD8+/CD45RA+ Naive Cytotoxic",
    "CD56+ NK",
    "CD4+/CD45RO+ Memory",
    "CD4+/CD45RA+/CD25- Naive T",
    "CD19+ B",
)


@dataclass(frozen=True)
class Control:
    """One positive control: a signature, a dataset and the contrast expected to show it."""

    signature: str
    data: str
    method: str
    high: str
    low: str
    why: str
    is_high: Callable[[pd.DataFrame], pd.Series]
    is_low: Callable[[pd.DataFrame], pd.Series] | None = None  # None: all the others


CONTROLS = [
    Control(
        "mapk_output_mpas",
        "nci60",
        "singscore",
        "BRAF-V600E lines",
        "other lines",
        "MPAS reads out ERK output, highest in BRAF/RAS-driven tumours (Wagle 2018)",
        _names(BRAF_V600E),
    ),
    Control(
        "progeny_mapk",
        "nci60",
        "singscore",
        "BRAF-V600E lines",
        "other lines",
        "the PROGENy MAPK footprint reads out MAPK output, as MPAS does (Schubert 2018)",
        _names(BRAF_V600E),
    ),
    Control(
        "treg_core",
        "wu2020",
        "ucell",
        "Treg clusters 4.6a/4.6b",
        "other T cells",
        "FOXP3, IL2RA, CTLA4, IKZF2 define Tregs",
        _label("cluster_orig", ("4.6a-Treg", "4.6b-Treg")),
    ),
    Control(
        "cd8_tex_terminal",
        "wu2020",
        "ucell",
        "tumour T cells",
        "blood T cells",
        "exhaustion (PD-1, TIM-3, CXCL13) arises in tumour, not blood, T cells",
        _label("source", ("Tumor",)),
        _label("source", ("Blood",)),
    ),
    Control(
        "cd8_stem_memory",
        "wu2020",
        "ucell",
        "blood T cells",
        "tumour T cells",
        "blood T cells are mostly naive/central memory (TCF7, SELL, CCR7, IL7R)",
        _label("source", ("Blood",)),
        _label("source", ("Tumor",)),
    ),
    Control(
        "cd8_stem_memory",
        "pbmc68k",
        "ucell",
        "naive CD8 T cells",
        "cytotoxic CD8 T cells",
        "naive/stem-like CD8 T cells keep CCR7, IL7R, CD27, CD28 that effectors lose",
        _label("bulk_labels", ("CD8+/CD45RA+ Naive Cytotoxic",)),
        _label("bulk_labels", ("CD8+ Cytotoxic T",)),
    ),
    Control(
        "tcr_erk_activation",
        "wu2020",
        "ucell",
        "tumour T cells",
        "blood T cells",
        "tumour T cells see antigen (CD69, NR4A, 4-1BB); resting blood T cells do not",
        _label("source", ("Tumor",)),
        _label("source", ("Blood",)),
    ),
    Control(
        "tis_gep18",
        "wu2020",
        "ucell",
        "tumour T cells",
        "blood T cells",
        "the T-cell-inflamed GEP marks IFN-γ-activated T cells (LAG3, TIGIT, CXCR6, HLA-DR)",
        _label("source", ("Tumor",)),
        _label("source", ("Blood",)),
    ),
    Control(
        "ifng_ayers6",
        "wu2020",
        "ucell",
        "tumour T cells",
        "blood T cells",
        "IFNG and STAT1 rise in activated tumour T cells",
        _label("source", ("Tumor",)),
        _label("source", ("Blood",)),
    ),
    Control(
        "mhc1_apm",
        "wu2020",
        "ucell",
        "tumour T cells",
        "blood T cells",
        "IFN-γ in tumours induces the class-I machinery (PSMB8/9, TAP1, HLA)",
        _label("source", ("Tumor",)),
        _label("source", ("Blood",)),
    ),
    Control(
        "mhc2_presentation",
        "pbmc68k",
        "ucell",
        "B cells, DCs, monocytes",
        "T and NK cells",
        "professional antigen-presenting cells express MHC-II and CD74",
        _label("bulk_labels", PBMC_APC),
        lambda obs: ~obs["bulk_labels"].isin(PBMC_APC) & ~obs["bulk_labels"].eq("CD34+"),
    ),
    Control(
        "cytolytic_rooney",
        "pbmc68k",
        "ucell",
        "NK and CD8 cytotoxic T cells",
        "other cells",
        "GZMA and PRF1 are the cytotoxic granule genes of NK and CD8 effector cells",
        _label("bulk_labels", ("CD56+ NK", "CD8+ Cytotoxic T")),
    ),
    Control(
        "nk_activation",
        "pbmc68k",
        "ucell",
        "NK cells",
        "other cells",
        "NK cells express the activation/cytotoxicity genes (GZMB, PRF1, NKG7)",
        _label("bulk_labels", ("CD56+ NK",)),
    ),
    Control(
        "mdsc_suppressive",
        "pbmc68k",
        "ucell",
        "CD14+ monocytes",
        "lymphocytes",
        "the S100A8/A9 alarmins of suppressive myeloid cells are monocyte genes",
        _label("bulk_labels", ("CD14+ Monocyte",)),
        _label("bulk_labels", PBMC_LYMPHOCYTES),
    ),
]


def load(data: str, find: Callable[..., Path]) -> ad.AnnData:
    """The dataset named ``data`` (observations x genes, with its labels in ``obs``)."""
    path = find(*DATASETS[data][0])
    if data == "nci60":
        return read_input(path)
    adata = ad.read_h5ad(path)
    if data == "pbmc68k":  # X is scaled; score the log data kept in .raw
        raw = adata.raw.to_adata()
        raw.obs = adata.obs
        return raw
    return adata


@dataclass(frozen=True)
class Result:
    """The measured numbers of one control."""

    control: Control
    n_found: int
    n_genes: int
    n_high: int
    n_low: int
    effect: float
    p: float
    random_effects: np.ndarray
    high_scores: np.ndarray
    low_scores: np.ndarray

    @property
    def percentile(self) -> float:
        """Percent of matched random sets whose effect is below the signature's."""
        return float(100 * np.mean(self.random_effects < self.effect))

    @property
    def random_median(self) -> float:
        """Median effect of the matched random sets."""
        return float(np.median(self.random_effects))

    @property
    def status(self) -> str:
        """``shown``, ``shown (partial genes)`` or ``not shown``."""
        if not (self.p < ALPHA and self.percentile >= PERCENTILE):
            return "not shown"
        return "shown" if self.n_found >= PARTIAL * self.n_genes else "shown (partial genes)"


def run_control(control: Control, adata: ad.AnnData) -> Result:
    """Score the signature and matched random sets; compare high vs low observations."""
    signature = mk.sig.get(control.signature)
    (match,), _ = match_signatures([signature], adata.var_names)
    members = np.concatenate([match.gene_set.up, match.gene_set.down]).astype(int)
    random = _random_signatures(adata, members)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # data-type hints; the methods here are rank-based
        scores = mk.tl.score(
            adata, [signature, *random], control.method, inplace=False, min_genes=2
        )
    high = control.is_high(adata.obs).to_numpy(bool)
    low = ~high if control.is_low is None else control.is_low(adata.obs).to_numpy(bool)
    diff = scores[high].mean() - scores[low].mean()
    sig_scores = scores[control.signature].to_numpy()
    return Result(
        control=control,
        n_found=match.n_found,
        n_genes=len(signature.genes),
        n_high=int(high.sum()),
        n_low=int(low.sum()),
        effect=float(diff[control.signature]),
        p=float(stats.mannwhitneyu(sig_scores[high], sig_scores[low], alternative="greater")[1]),
        random_effects=diff.drop(control.signature).to_numpy(float),
        high_scores=sig_scores[high],
        low_scores=sig_scores[low],
    )


def _random_signatures(adata: ad.AnnData, members: np.ndarray) -> list[Signature]:
    """``N_RANDOM`` gene sets matched to ``members`` in size and mean expression."""
    names = adata.var_names.astype(str)
    means = gene_means(adata.X)
    means[names.duplicated(keep=False)] = np.nan  # never draw an ambiguous name
    usable = np.flatnonzero(np.isfinite(means))
    local = np.searchsorted(usable, members)
    sets = matched_random_sets(means[usable], local, N_RANDOM, seed=SEED)
    return [Signature.custom(f"random_{i}", up=list(names[usable[s]])) for i, s in enumerate(sets)]


def run_all(find: Callable[..., Path]) -> list[Result]:
    """Run every control, loading each dataset once."""
    cache: dict[str, ad.AnnData] = {}
    results = []
    for control in CONTROLS:
        if control.data not in cache:
            cache[control.data] = load(control.data, find)
        results.append(run_control(control, cache[control.data]))
    return results


def _fmt(x: float) -> str:
    return f"{x:.2g}" if abs(x) < 0.01 else f"{x:.3f}"


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _rows(results: list[Result]) -> list[list[str]]:
    rows = []
    for r in results:
        c = r.control
        rows.append(
            [
                f"`{c.signature}`",
                f"{c.high} (n={r.n_high}) > {c.low} (n={r.n_low})",
                c.data,
                c.method,
                f"{r.n_found}/{r.n_genes}",
                _fmt(r.effect),
                f"{r.p:.1e}",
                f"{r.percentile:.1f} (median {_fmt(r.random_median)})",
                f"{r.status} ![]({FIGURES.name}/{figure_name(r)})",
            ]
        )
    return rows


def _none_rows(library: dict[str, Signature]) -> list[list[str]]:
    return [
        [f"`{s.id}`", s.validation["reason"]]
        for s in sorted(library.values(), key=lambda s: s.id)
        if s.validation.get("status") == "none available"
    ]


def readme_table(results: list[Result]) -> str:
    """The short README table: what each signature was shown to measure."""
    rows = [
        [
            f"`{r.control.signature}`",
            f"{r.control.high} > {r.control.low}",
            r.control.data,
            f"p={r.p:.1e}, random pct {r.percentile:.0f}",
            r.status,
        ]
        for r in results
    ]
    rows += [
        [sid, "-", "-", "-", f"none available: {why}"] for sid, why in _none_rows(load_library())
    ]
    return _markdown(["signature", "contrast", "data", "evidence", "status"], rows)


def render(results: list[Result]) -> str:
    """The whole of ``docs/validation.md``."""
    header = [
        "signature",
        "contrast (expected higher > lower)",
        "data",
        "method",
        "genes found",
        "effect",
        "p",
        "matched-random percentile",
        "status",
    ]
    data_lines = "\n".join(f"- `{k}`: {v[1]}; {v[2]}." for k, v in DATASETS.items())
    reasons = "\n".join(f"- **{c.signature}**: {c.why}." for c in CONTROLS)
    none = _markdown(["signature", "why no control"], _none_rows(load_library()))
    return f"""# Signature validation

Generated by `python scripts/make_validation.py` from the controls asserted in
`tests/test_validation.py`; do not edit by hand.

Each **positive control** scores a signature in real public data where published biology
says its program differs between two groups, and reports the difference of the mean scores
(**effect**, higher group minus lower group) with a one-sided Mann-Whitney **p**. The
**negative control** scores {N_RANDOM} random gene sets of the same size, drawn from the
same mean-expression bins as the signature's genes (seed {SEED}), in the same contrast: the
**matched-random percentile** is the percent of them with a smaller effect, and their
median effect is shown in brackets (near 0: the contrast is not a generic
expression-level artefact). **Status** `shown` needs p < {ALPHA} and a percentile of at least
{PERCENTILE:.0f}; `shown (partial genes)` means fewer than half the signature's genes are in
the data, so the control shows only the part found. Each figure shows the scores of the two
groups (left) and the random-set effects with the signature's effect as a line (right).

These controls show that a signature measures its program in cells or samples where the
program is known to differ. They do not show that a signature detects a MEK-inhibitor
effect: no public MEK-inhibitor-treated expression data could be used offline.

{_markdown(header, _rows(results))}

## Why each contrast

{reasons}

## Data

{data_lines}

## Signatures without an offline control

Marked `validation: {{status: none available}}` in their YAML file.

{none}
"""


def figure_name(result: Result) -> str:
    """File name of a control's figure: signature and dataset."""
    return f"{result.control.signature}_{result.control.data}.png"


def save_figure(result: Result, folder: Path) -> Path:
    """A small PNG: group scores and the matched-random effects with the signature's effect."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(3.6, 1.5), dpi=72)
    left.boxplot([result.low_scores, result.high_scores], widths=0.6, showfliers=False)
    for i, values in enumerate((result.low_scores, result.high_scores), start=1):
        jitter = np.random.default_rng(SEED).uniform(-0.15, 0.15, len(values))
        left.scatter(i + jitter, values, s=2, color=("#8C8C8C", "#0072B2")[i - 1])
    left.set_xticks([1, 2], ["lower", "higher"], fontsize=6)
    left.tick_params(labelsize=5)
    right.hist(result.random_effects, bins=20, color="#D9D9D9")
    right.axvline(result.effect, color="#0072B2", lw=1.2)
    right.tick_params(labelsize=5)
    right.set_yticks([])
    fig.suptitle(result.control.signature, fontsize=7)
    fig.tight_layout(pad=0.3)
    path = folder / figure_name(result)
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return path


def _finder() -> Callable[..., Path]:
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import find_reference  # the tests' resolver: tests/data, ../shared, wheels

    def find(*parts: str) -> Path:
        path = find_reference(*parts)
        if path is None:
            raise SystemExit(f"reference data not found: {'/'.join(parts)}")
        return path

    return find


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    args = parser.parse_args(argv)
    results = run_all(_finder())
    text = render(results)
    if args.check:
        current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
        return 0 if current == text else 1
    PAGE.parent.mkdir(parents=True, exist_ok=True)
    PAGE.write_text(text, encoding="utf-8")
    FIGURES.mkdir(exist_ok=True)
    for result in results:
        save_figure(result, FIGURES)
    print(readme_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
