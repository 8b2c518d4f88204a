"""Screenshot an HTML report in headless Chromium at several widths, to look at its layout.

    python scripts/screenshot_report.py demo_output/report.html [--widths 1400 1000] [-o shots/]

Needs Debian's chromium (``apt-get install chromium``). Writes ``report_<width>.png``; open
them and check that the verdict, its reason, the effect size and q are visible without
scrolling, and that the wide verdict table scrolls sideways with its first column in view.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path


def screenshot(report: Path, width: int, out: Path, height: int = 6000) -> Path:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit("error: chromium not found; install it with apt-get install chromium")
    target = out / f"report_{width}.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--window-size={width},{height}",
            f"--screenshot={target}",
            report.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--widths", type=int, nargs="+", default=[1400, 1000])
    parser.add_argument("-o", "--output", type=Path, default=Path("."))
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    for width in args.widths:
        print(screenshot(args.report, width, args.output))


if __name__ == "__main__":
    main()
