"""Measure interval coverage, null calibration and power of tl.compare by simulation.

Prints markdown tables (the README's statistics section quotes them). The tests in
tests/test_calibration.py assert the same properties on fewer simulations.

    python benchmarks/statistics.py [--studies 200] [--sims 4000]
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

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


def null_table(n_studies: int) -> str:
    rows = [
        "| path | rows tested | p < 0.05 | calls (consistent/opposite) | PD confirmed |",
        "|---|---|---|---|---|",
    ]
    for k, (path, options) in enumerate(PATHS.items()):
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


def power_table(n_studies: int) -> str:
    designs = {
        "single-cell, 4 per arm (pseudobulk)": (
            lambda s: simulate_study(seed=300_000 + s, n_cells_mean=300, n_genes=800),
            TUMOUR + MYELOID,
            SC,
        ),
        "bulk of sorted tumour cells, 4 per arm": (
            lambda s: simulate_study(
                seed=310_000 + s, n_cells_mean=300, n_genes=800, bulk=True, cell_types=("Tumor",)
            ),  # fmt: skip
            TUMOUR,
            {**ARMS, "sample_key": "sample"},
        ),
        "bulk of sorted myeloid cells, 4 per arm": (
            lambda s: simulate_study(
                seed=320_000 + s, n_cells_mean=300, n_genes=800, bulk=True, cell_types=("Myeloid",)
            ),  # fmt: skip
            MYELOID,
            {**ARMS, "sample_key": "sample"},
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=200)
    parser.add_argument("--sims", type=int, default=4000)
    parser.add_argument("--coverage-only", action="store_true", help="skip null and power")
    args = parser.parse_args()
    np.seterr(all="ignore")
    print("## Interval coverage (normal data, true effect ~ U(0, 2))\n")
    print(coverage_table(args.sims), flush=True)
    print(f"\n## Coverage at unequal n and variances ({args.sims // 2} studies per cell)\n")
    print(unequal_coverage_table(args.sims // 2), flush=True)
    if args.coverage_only:
        return
    print(f"\n## Null studies ({args.studies} per path)\n")
    print(null_table(args.studies), flush=True)
    print(f"\n## Power ({args.studies // 2} studies per design; planted BIOLOGY_EFFECTS)\n")
    print(power_table(args.studies // 2), flush=True)


if __name__ == "__main__":
    main()
