"""``mekscore qc``: check that each signature holds together as a program in a dataset."""

from __future__ import annotations

from pathlib import Path

import click

from ..methods import METHOD_NAMES, default_method
from . import _options as opt
from ._common import Reporter, command
from .score import data_kind

EPILOG = """\b
Examples:
  mekscore qc pbmc.h5ad -o qc.csv
  mekscore qc pbmc.h5ad -o qc.tsv --use-raw --signatures treg_core,mhc2_presentation
  mekscore qc tumours.gct -o qc.csv --n-random 500

\b
One row per signature: genes found and missing, detection rate of its genes, coherence
(mean pairwise Spearman correlation of its expressed genes across cells or samples) with
an empirical p-value against random gene sets of the same size and expression level,
the mean gene-score correlation, and a status: 'coherent' (p <= 0.05), 'weak', or 'not
expressed' (fewer than 2 genes detected in >= 1% of observations, or its genes detected
in < 1% on average). Detected means non-zero, or above the gene's minimum in scaled data.
A verdict from a 'weak' or 'not expressed' signature says little about its program here.
Output: .csv, .tsv or .parquet. Exit codes: 0 success, 2 bad input or options, 1 other."""


@click.command(epilog=EPILOG)
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="Output table: .csv, .tsv or .parquet.",
)
@opt.signatures
@click.option(
    "-m",
    "--method",
    type=click.Choice(METHOD_NAMES),
    help="Score for the gene-score correlation (default: the method 'mekscore score' "
    f"uses: {default_method('cells')} for cells, {default_method('samples')} for tables).",
)
@opt.input_format
@opt.layer
@opt.use_raw
@opt.species
@click.option(
    "--n-random",
    type=click.IntRange(min=20),
    default=100,
    show_default=True,
    help="Expression-matched random gene sets per signature.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random sets.")
@opt.duplicates
@opt.force_file
@command
def qc(input_path: Path, output: Path, reporter: Reporter, **options) -> None:
    """Check that each signature is expressed and coherent in INPUT; write one row each.

    INPUT is an .h5ad file, a genes x samples table (CSV/TSV/GCT) or a 10x folder.
    """
    from .. import tl
    from ..errors import InputError
    from ..io.read import detect_format, read_input
    from ..io.write import check_output, write_table
    from ..tl._qc import STATUSES

    check_output(output, force=options["force"], inputs=[input_path])
    if output.suffix.lower() == ".h5ad":
        raise InputError(f"{output}: write the QC table as .csv, .tsv or .parquet")
    if options["layer"] and options["use_raw"]:
        raise InputError("--layer and --use-raw both choose the matrix; give only one")
    fmt = options["input_format"] or detect_format(input_path)
    method = options["method"] or default_method(data_kind(fmt))
    adata = read_input(input_path, fmt=fmt, duplicates=options["duplicates"])
    table = tl.signature_qc(
        adata,
        options["signatures"],
        method,
        layer=options["layer"],
        use_raw=options["use_raw"],
        species=options["species"],
        n_random=options["n_random"],
        seed=options["seed"],
    )
    write_table(table, output, force=options["force"])
    counts = table["status"].value_counts()
    reporter.paragraph(
        f"wrote {output}: {len(table)} signatures, "
        + ", ".join(f"{counts.get(s, 0)} {s}" for s in STATUSES)
    )
