"""``mekscore demo``: the whole pipeline on the bundled example data, via ``mekscore compare``."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import Reporter, command
from .compare import compare

BULK_FOLDER = "bulk_paired"
SINGLE_CELL = {
    "condition_key": "condition",
    "control": "vehicle",
    "treated": ("trametinib",),
    "sample_key": "sample",
    "compartment_key": "cell_type",
    "compartments": "cd4_t=CD4 T,Treg",
}
BULK = {
    "condition_key": "timepoint",
    "control": "pre",
    "treated": ("on",),
    "sample_key": "sample",
    "pair_key": "patient",
}
EXAMPLES = """
\b
Examples:
  mekscore demo                      # writes demo_output/
  mekscore demo -o /tmp/mek --force  # into an existing folder
"""


@click.command("demo", epilog=EXAMPLES)
@click.option(
    "-o",
    "--output",
    "outdir",
    default="demo_output",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Output folder; the bulk results go to its bulk_paired/ subfolder.",
)
@click.option("--force", is_flag=True, help="Write into an existing non-empty output folder.")
@command
def demo(outdir: Path, *, force: bool, reporter: Reporter) -> None:
    """Run mekscore on its bundled example data and write the verdicts and HTML reports.

    Single-cell: 10 simulated tumours (5 vehicle, 5 trametinib); the counts of each
    tumour's cells are summed per compartment (pseudobulk), scored and compared, the
    sample being the replicate. Bulk: 8 simulated patients with biopsies before and on
    trametinib, compared as pairs. Both are exactly 'mekscore compare' runs with its
    defaults (see example_data/README.md for the planted effects they should find).
    """
    from ..datasets import BULK_COUNTS_FILE, BULK_SAMPLES_FILE, SCRNA_FILE, example_data_dir
    from ..io.write import check_output_folder

    check_output_folder(outdir, force=force)
    data = example_data_dir()
    runs = [
        (
            "single-cell, vehicle vs trametinib",
            outdir,
            {"input_path": data / SCRNA_FILE, **SINGLE_CELL},
        ),
        (
            "bulk, paired pre vs on trametinib",
            outdir / BULK_FOLDER,
            {"input_path": data / BULK_COUNTS_FILE, "sheet": data / BULK_SAMPLES_FILE, **BULK},
        ),
    ]
    ctx = click.get_current_context()
    for title, folder, options in runs:
        reporter.paragraph(f"{title}: {options['input_path'].name}")
        ctx.invoke(
            compare,
            **options,
            outdir=folder,
            force=force,
            quiet=reporter.quiet,
            verbose=reporter.verbose,
        )
    for title, folder, _ in runs:
        report = folder / "report.html"
        click.echo(f"{title}:\n{headline(folder / 'verdict.csv')}\n  report: {report}")


def headline(verdict_csv: Path) -> str:
    """One line per program with an expected direction: where, expected, observed, verdict."""
    import pandas as pd

    table = pd.read_csv(verdict_csv)
    rows = table[table["expected"].isin(["up", "down"])]
    return "\n".join(
        f"  {r.signature:<24} {r.compartment:<8} expected {r.expected:<4} "
        f"observed {r.observed if isinstance(r.observed, str) else '-':<4} {r.verdict}"
        for r in rows.itertuples()
    )
