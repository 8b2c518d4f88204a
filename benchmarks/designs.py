"""Coverage and null rates of the design models by simulation, for the README's tables.

For each design type of tests/test_design_calibration.py at 3, 4, 6 and 8 samples (or
subjects) per arm: the coverage of the 95% intervals (score units; standardised effect)
with cell means drawn from U(-1.5, 1.5), and the share of p < 0.05 with no effect, over
--sims studies each (default 2000). Each table cell gives the range over the design's
contrasts. Every finished cell is appended to --save (JSON lines), so a run can be
resumed; --tables prints the tables from that file. About 40 CPU-minutes at 2000 studies.

    nice -n 10 python benchmarks/designs.py --jobs 2 --save designs.jsonl
    python benchmarks/designs.py --save designs.jsonl --tables
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_design_calibration import SCENARIOS, Tally, simulate

SIZES = (3, 4, 6, 8)
TABLES = {
    "Coverage of the 95% interval of the contrast (score units)": ("coverage", 0),
    "Coverage of the 95% interval of the standardised effect": ("effect_coverage", 0),
    "Share of p < 0.05 with no effect (beats-both: at the boundary of its null)": ("rate", 1),
}


def _run(name: str, n: int, sims: int, null: int) -> dict:
    seed = 1000 * list(SCENARIOS).index(name) + 10 * n + null
    tallies = simulate(name, n, sims, seed=seed, null=bool(null))
    return {
        "name": name,
        "n": n,
        "sims": sims,
        "null": null,
        "tallies": {k: asdict(v) for k, v in tallies.items()},
    }


def _load(path: Path) -> dict:
    if not path.exists():
        return {}
    rows = [json.loads(line) for line in path.read_text().splitlines() if line]
    return {(r["name"], r["n"], r["sims"], r["null"]): r for r in rows}


def _span(values, digits=3) -> str:
    low, high = min(values), max(values)
    if round(low, digits) == round(high, digits):
        return f"{low:.{digits}f}"
    return f"{low:.{digits}f}-{high:.{digits}f}"


def tables(done: dict, sims: int) -> str:
    out = []
    header = "| design | " + " | ".join(f"{n} per arm" for n in SIZES) + " |"
    for title, (field, null) in TABLES.items():
        out += [
            f"{title}, {sims} studies per cell (range over the design's contrasts):",
            "",
            header,
            "|---" * (len(SIZES) + 1) + "|",
        ]
        for name in SCENARIOS:
            cells = []
            for n in SIZES:
                row = done.get((name, n, sims, null))
                tallies = [Tally(**t) for t in row["tallies"].values()] if row else []
                tallies = [t for t in tallies if t.studies]
                cells.append(_span([getattr(t, field) for t in tallies]) if tallies else "")
            out.append(f"| {name} | " + " | ".join(cells) + " |")
        out.append("")
    untestable = {
        f"{name}, {n}": sum(t["untestable"] for t in row["tallies"].values())
        for (name, n, s, null), row in done.items()
        if s == sims and not null
    }
    shown = {k: v for k, v in untestable.items() if v}
    out.append(f"Untestable fits (Satterthwaite df below 1): {shown or 'none'}")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--save", type=Path, default=Path("designs.jsonl"))
    parser.add_argument("--tables", action="store_true", help="print the tables and stop")
    args = parser.parse_args()
    done = _load(args.save)
    if not args.tables:
        todo = [
            (name, n, args.sims, null)
            for n in SIZES
            for name in SCENARIOS
            for null in (0, 1)
            if (name, n, args.sims, null) not in done
        ]
        with ProcessPoolExecutor(args.jobs) as pool:
            for future in as_completed([pool.submit(_run, *job) for job in todo]):
                with args.save.open("a") as handle:
                    handle.write(json.dumps(future.result()) + "\n")
        done = _load(args.save)
    print(tables(done, args.sims))


if __name__ == "__main__":
    main()
