"""Measure interval coverage, null calibration and power of tl.compare by simulation.

Prints markdown tables (the README's statistics section quotes them). The tests in
tests/test_calibration.py assert the same properties on fewer simulations.

    python benchmarks/statistics.py [--studies 200] [--sims 4000]
    python benchmarks/statistics.py --tissue 100   # only the mixed-tissue tables
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mekscore import tl
from mekscore.datasets import simulate_study
from test_calibration import (
    ALPHA,
    ARMS,
    MYELOID,
    PATHS,
    SC,
    TUMOUR,
    _coverage,
    _run_null,
)

CALLS = ("consistent", "opposite")


RATIOS = (0.2, 0.5, 1.0, 2.0, 5.0)  # treated / control variance
UNEQUAL = ((3, 3), (4, 4), (6, 6), (8, 8), (3, 8), (8, 3), (4, 6), (6, 4))
INTERVALS = {  # (difference interval, effect-size interval); rank tests: one interval
    "welch": ("difference (Welch t)", "g_av (g\\*_s)"),
    "paired-t": ("difference (t)", "g_z"),
    "mannwhitney": ("", "Hodges-Lehmann shift"),
    "wilcoxon": ("", "Hodges-Lehmann shift"),
}


def _cell(value: float) -> str:
    return "not testable" if np.isnan(value) else f"{value:.3f}"


def coverage_table(n_sims: int) -> str:
    """Equal arms (or pairs), equal variances: both intervals of every test."""
    sizes = (3, 4, 6, 8)
    rows = [
        "| test | interval | " + " | ".join(map(str, sizes)) + " |",
        "|---|---|" + "---|" * len(sizes),
    ]
    for test, names in INTERVALS.items():
        paired = test in ("paired-t", "wilcoxon")
        cells = [_coverage(test, (n,) if paired else (n, n), n_sims, 100 + n) for n in sizes]
        for k, name in enumerate(names):
            if name:
                rows.append(f"| {test} | {name} | " + " | ".join(_cell(c[k]) for c in cells) + " |")
    return "\n".join(rows)


def unequal_coverage_table(n_sims: int) -> str:
    """Unpaired intervals at unequal n and variance ratios (treated / control) 1/5 to 5."""
    rows = [
        "| control vs treated | interval | " + " | ".join(f"{r:g}" for r in RATIOS) + " |",
        "|---|---|" + "---|" * len(RATIOS),
    ]
    for sizes in UNEQUAL:
        welch = [_coverage("welch", sizes, n_sims, 500 + 10 * k, r) for k, r in enumerate(RATIOS)]
        ranks = [
            _coverage("mannwhitney", sizes, n_sims, 900 + 10 * k, r) for k, r in enumerate(RATIOS)
        ]
        label = f"{sizes[0]} vs {sizes[1]}"
        measured = {
            "welch difference": [w[0] for w in welch],
            "welch g_av (g\\*_s)": [w[1] for w in welch],
            "mannwhitney shift": [r[1] for r in ranks],
        }
        for name, values in measured.items():
            rows.append(f"| {label} | {name} | " + " | ".join(map(_cell, values)) + " |")
    return "\n".join(rows)


def null_table(n_studies: int, only: str = "") -> str:
    rows = [
        "| path | rows tested | p < 0.05 | calls (consistent/opposite) | PD confirmed |",
        "|---|---|---|---|---|",
    ]
    for k, (path, options) in enumerate(PATHS.items()):
        if only not in path:  # a subset keeps each path's seeds
            continue
        tested = significant = calls = directional = confirmed = 0
        for seed in range(n_studies):
            table = _run_null(200_000 + 10_000 * k + seed, **options)
            has_p = table["p_value"].notna()
            tested += int(has_p.sum())
            significant += int((table["p_value"] < ALPHA).sum())
            directional += int(
                (has_p & table["family"].isin(["directional", "pharmacodynamic"])).sum()
            )
            calls += int(table["verdict"].isin(CALLS).sum())
            pd_rows = (table["family"] == "pharmacodynamic") & (table["verdict"] == "consistent")
            confirmed += int(pd_rows.sum())
        rows.append(
            f"| {path} | {tested} | {significant / tested:.3f} | {calls / directional:.4f} | "
            f"{confirmed / n_studies:.3f} |"
        )
    return "\n".join(rows)


def power_table(n_studies: int, only: str = "") -> str:
    designs = {
        "single-cell, 4 per arm (pseudobulk)": (
            lambda s: simulate_study(seed=300_000 + s, n_cells_mean=300, n_genes=800),
            TUMOUR + MYELOID,
            SC,
        ),
        "bulk of sorted tumour cells, 4 per arm": (
            lambda s: simulate_study(
                seed=310_000 + s, n_cells_mean=300, n_genes=800, bulk=True, cell_types=("Tumor",)
            ),
            TUMOUR,
            {**ARMS, "sample_key": "sample", "bulk_of": "tumor"},  # simulated markers never vanish
        ),
        "bulk of sorted myeloid cells, 4 per arm": (
            lambda s: simulate_study(
                seed=320_000 + s, n_cells_mean=300, n_genes=800, bulk=True, cell_types=("Myeloid",)
            ),
            MYELOID,
            {**ARMS, "sample_key": "sample", "bulk_of": "myeloid"},
        ),
        "bulk of whole tumours (mixed cells), 4 per arm": (
            lambda s: simulate_study(seed=330_000 + s, n_cells_mean=300, n_genes=800, bulk=True),
            TUMOUR + MYELOID,
            {**ARMS, "sample_key": "sample"},
        ),
    }
    signatures = TUMOUR + MYELOID
    rows = [
        "| design | " + " | ".join(signatures) + " |",
        "|---|" + "---|" * len(signatures),
    ]
    for name, (make, tested, design) in designs.items():
        if only not in name:
            continue
        hits = dict.fromkeys(tested, 0)
        for seed in range(n_studies):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                verdicts = tl.compare(make(seed), **design).set_index("signature")["verdict"]
            for sig in tested:
                hits[sig] += verdicts[sig] == "consistent"
        cells = [f"{hits[s] / n_studies:.2f}" if s in hits else "" for s in signatures]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


TISSUE = {
    "tumour-rich, no change (90%)": (0.9, 0.9),
    "tumour-rich, 90% -> 80%": (0.9, 0.8),
    "60% -> 40%": (0.6, 0.4),
    "leukocyte-rich, 35% -> 15%": (0.35, 0.15),
    "leukocyte-rich, 20% -> 10%": (0.2, 0.1),
    "leukocyte-rich, no change (35%)": (0.35, 0.35),
}
"""Mixed-tissue scenarios: mean tumour share of the cells (vehicle, trametinib)."""
SIZES = (3, 4, 6, 8)


def _tissue_study(seed: int, content, n: int, *, paired: bool, effects: str) -> pd.DataFrame:
    odds = [0.65 * c / (1 - c) for c in content]
    bulk = simulate_study(
        seed=seed,
        n_samples_per_arm=n,
        n_genes=600,
        n_cells_mean=200,
        bulk=True,
        effects=effects,
        paired=paired,
        proportions={"Tumor": odds[0]},
        composition={"Tumor": odds[1] / odds[0]},
    )
    design = {**ARMS, "sample_key": "sample", "pair_key": "patient" if paired else None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        table = tl.compare(bulk, **design, signatures=list(TUMOUR), composition=False)
    return table.set_index("signature")


def tissue_null_table(n_studies: int) -> str:
    """Composition-only studies: share of tumour rows called / refused, per design and size."""
    columns = [f"{'pairs' if p else 'per arm'} {n}" for p in (False, True) for n in SIZES]
    rows = [
        "| tumour share of cells | " + " | ".join(columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for k, (name, content) in enumerate(TISSUE.items()):
        cells = []
        for paired in (False, True):
            for n in SIZES:
                called = refused = total = 0
                for seed in range(n_studies):
                    seed = 400_000 + 10_000 * k + 1_000 * n + 500 * paired + seed
                    table = _tissue_study(seed, content, n, paired=paired, effects="none")
                    total += len(table)
                    called += int(table["verdict"].isin(CALLS).sum())
                    refused += int(table["reason"].str.startswith("composition").sum())
                cells.append(f"{called / total:.3f} / {refused / total:.2f}")
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def tissue_power_table(n_studies: int) -> str:
    """Planted per-cell effects in tumour cells: share of studies calling each program."""
    scenarios = {
        "50% in both arms": (0.5, 0.5),
        "90% -> 80%": (0.9, 0.8),
        "35% -> 15%": (0.35, 0.15),
    }
    rows = [
        "| tumour share of cells | design | " + " | ".join(TUMOUR) + " | refused |",
        "|---|---|" + "---|" * (len(TUMOUR) + 1),
    ]
    for k, (name, content) in enumerate(scenarios.items()):
        for paired in (False, True):
            for n in (4, 8):
                hits, refused = dict.fromkeys(TUMOUR, 0), 0
                for seed in range(n_studies):
                    seed = 500_000 + 10_000 * k + 1_000 * n + 500 * paired + seed
                    table = _tissue_study(seed, content, n, paired=paired, effects="biology")
                    for sig in TUMOUR:
                        hits[sig] += table.loc[sig, "verdict"] == "consistent"
                    refused += int(table["reason"].str.startswith("composition").sum())
                design = f"{n} {'pairs' if paired else 'per arm'}"
                cells = " | ".join(f"{hits[s] / n_studies:.2f}" for s in TUMOUR)
                share = refused / (n_studies * len(TUMOUR))
                rows.append(f"| {name} | {design} | {cells} | {share:.2f} |")
    return "\n".join(rows)


def real_mixture_table(n_studies: int) -> str:
    """Tissue built from real cells (BRAF-V600E culture + Wu 2020 T cells), 6 per arm."""
    from tests.test_bulk_real import TUMOUR_PROGRAMS, _compare, real_mixture

    scenarios = {
        "no drug, tumour content 60-80% -> 30-40%": (("v600e", "v600e"), ((0.6, 0.8), (0.3, 0.4))),
        "no drug, 40-80% -> 25-60%": (("v600e", "v600e"), ((0.4, 0.8), (0.25, 0.6))),
        "no drug, 20-40% -> 10-20%": (("v600e", "v600e"), ((0.2, 0.4), (0.1, 0.2))),
        "LGX818, 40-80% -> 25-60%": (("v600e", "v600e_lgx818"), ((0.4, 0.8), (0.25, 0.6))),
    }
    rows = ["| study | tumour content from | tumour rows called | refused |", "|---|---|---|---|"]
    for name, (culture, content) in scenarios.items():
        for options, source in (({}, "marker genes"), ({"purity_key": "purity"}, "purity")):
            called = refused = total = 0
            for seed in range(n_studies):
                tissue = real_mixture(
                    {"c": culture[0], "t": culture[1]},
                    {"c": content[0], "t": content[1]},
                    seed=seed,
                )
                table, _ = _compare(tissue, "c", "t", **options)
                rows_ = table.loc[list(TUMOUR_PROGRAMS)]
                total += len(rows_)
                called += int(rows_["verdict"].isin(CALLS).sum())
                refused += int(rows_["reason"].str.startswith("composition").sum())
            rows.append(f"| {name} | {source} | {called / total:.2f} | {refused / total:.2f} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=200)
    parser.add_argument("--sims", type=int, default=4000)
    parser.add_argument("--coverage-only", action="store_true", help="skip null and power")
    parser.add_argument("--tissue", type=int, default=0, help="only the mixed-tissue tables")
    parser.add_argument("--only", default="", help="null and power rows whose name has this text")
    args = parser.parse_args()
    np.seterr(all="ignore")
    if args.tissue:
        print(f"## Mixed tissue, composition only ({args.tissue} studies per cell)\n")
        print(tissue_null_table(args.tissue), flush=True)
        print(f"\n## Mixed tissue, planted per-cell effects ({args.tissue // 2} studies)\n")
        print(tissue_power_table(args.tissue // 2), flush=True)
        print("\n## Tissue made of real cells (10 studies per row)\n")
        print(real_mixture_table(10), flush=True)
        return
    print("## Interval coverage (normal data, true effect ~ U(0, 2))\n")
    print(coverage_table(args.sims), flush=True)
    print(f"\n## Coverage at unequal n and variances ({args.sims // 2} studies per cell)\n")
    print(unequal_coverage_table(args.sims // 2), flush=True)
    if args.coverage_only:
        return
    print(f"\n## Null studies ({args.studies} per path)\n")
    print(null_table(args.studies, args.only), flush=True)
    print(f"\n## Power ({args.studies // 2} studies per design; planted BIOLOGY_EFFECTS)\n")
    print(power_table(args.studies // 2, args.only), flush=True)


if __name__ == "__main__":
    main()
