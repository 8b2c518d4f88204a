"""Start-up time of the command line: ``mekscore --help`` and ``--version``.

Each command runs in a fresh interpreter (median of ``--repeat`` runs) and is reported
as seconds and as a ratio to ``python -c pass``, the interpreter's own start-up. The
target is under 0.3 s: help and version must not import the numerical stack.

Usage: ``python benchmarks/bench_cli.py [--repeat 15]``; writes its section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import _util as U
import numpy as np

TARGET_S = 0.3
COMMANDS = {
    "python -c pass": ["-c", "pass"],
    "mekscore --help": ["-m", "mekscore", "--help"],
    "mekscore --version": ["-m", "mekscore", "--version"],
    "mekscore compare --help": ["-m", "mekscore", "compare", "--help"],
}


def median_time(args: list[str], repeat: int) -> float:
    """Median wall time of ``python <args>`` over ``repeat`` fresh interpreters."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, *args], check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return float(np.median(times))  # (benchmarks/statistics.py shadows the stdlib module)


def render(times: dict[str, float], repeat: int, load: tuple[float, float]) -> str:
    base = times["python -c pass"]
    rows = [
        f"| `{name}` | {U.fmt_seconds(t)} | {t / base:.1f}x | "
        + ("-" if name == "python -c pass" else "**met**" if t < TARGET_S else "NOT met")
        + " |"
        for name, t in times.items()
    ]
    return "\n".join(
        [
            "## Command-line start-up",
            "",
            f"`bench_cli.py`: median of {repeat} fresh interpreters each; target < {TARGET_S} s. "
            f"Load average before/after: {load[0]:.1f} / {load[1]:.1f}.",
            "",
            "| command | time | ratio to `python -c pass` | under 0.3 s |",
            "|---|---|---|---|",
            *rows,
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    before = os.getloadavg()[0]
    times = {name: median_time(argv, args.repeat) for name, argv in COMMANDS.items()}
    body = render(times, args.repeat, (before, os.getloadavg()[0]))
    print(body)
    U.write_section("cli", body)


if __name__ == "__main__":
    main()
