"""Coverage and null rates of the design models by simulation, for the README's tables.

For each design type of tests/test_design_calibration.py at 3, 4, 6 and 8 samples (or
subjects) per arm: the coverage of the 95% intervals (score units; standardised effect)
with cell means drawn from U(-1.5, 1.5), and the share of p < 0.05 with no effect, over
--sims studies each (default 2000). Each table cell gives the range over the design's
contrasts. Run with `nice`: it takes about an hour on one core.

    nice -n 10 python benchmarks/designs.py [--sims 2000] [--jobs 2] > designs.md
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_design_calibration import SCENARIOS, simulate

SIZES = (3, 4, 6, 8)


def _run(job):
    name, n, sims, null = job
    seed = 1000 * list(SCENARIOS).index(name) + 10 * n + null
    return job, simulate(name, n, sims, seed=seed, null=null)


def _span(values, digits=3) -> str:
    low, high = min(values), max(values)
    return (
        f"{low:.{digits}f}"
        if round(low, digits) == round(high, digits)
        else (f"{low:.{digits}f}-{high:.{digits}f}")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    jobs = [(name, n, args.sims, null) for name in SCENARIOS for n in SIZES for null in (0, 1)]
    with ProcessPoolExecutor(args.jobs) as pool:
        done = dict(pool.map(_run, jobs))
    header = "| design | " + " | ".join(f"{n} per arm" for n in SIZES) + " |"
    rule = "|---" * (len(SIZES) + 1) + "|"
    tables = {
        "Coverage of the 95% interval of the contrast (score units)": lambda t: t.coverage,
        "Coverage of the 95% interval of the standardised effect": lambda t: t.effect_coverage,
        "Share of p < 0.05 with no effect (beats-both: at the boundary of its null)": lambda t: (
            t.rate
        ),
    }
    for title, measure in tables.items():
        null = title.startswith("Share")
        print(f"\n{title}, {args.sims} studies per cell (range over the design's contrasts):\n")
        print(header)
        print(rule)
        for name in SCENARIOS:
            cells = [
                _span([measure(t) for t in done[(name, n, args.sims, int(null))].values()])
                for n in SIZES
            ]
            print(f"| {name} | " + " | ".join(cells) + " |")
    untestable = {
        (name, n): sum(t.untestable for t in done[(name, n, args.sims, 0)].values())
        for name in SCENARIOS
        for n in SIZES
    }
    shown = {k: v for k, v in untestable.items() if v}
    print("\nUntestable fits (Satterthwaite df below 1):", shown or "none")


if __name__ == "__main__":
    main()
