"""Options shared by several commands, defined once so their names and help never drift."""

from __future__ import annotations

import click

from ._common import MappedChoice

#: ``--log-normalize`` choices as ``tl.score(log_normalize=...)`` values.
LOG_NORMALIZE = {"auto": "auto", "always": True, "never": False}

signatures = click.option(
    "-s",
    "--signatures",
    default="all",
    show_default=True,
    help="Library ids (comma-separated), 'all', a GMT file, or a YAML file of signatures "
    "in the library's schema (with compartment and expected direction).",
)
input_format = click.option(
    "--input-format",
    type=click.Choice(["h5ad", "csv", "tsv", "gct", "10x"]),
    help="Override the format guessed from INPUT's extension.",
)
layer = click.option("--layer", help="Use adata.layers[LAYER] instead of X.")
use_raw = click.option(
    "--use-raw", is_flag=True, help="Use adata.raw (log data kept beside a scaled X)."
)
species = click.option(
    "--species",
    type=click.Choice(["auto", "human", "mouse"]),
    default="auto",
    show_default=True,
    help="Species of the gene names.",
)
duplicates = click.option(
    "--duplicates",
    type=click.Choice(["error", "sum", "mean", "first"]),
    default="error",
    show_default=True,
    help="Repeated gene names in a table: refuse, or aggregate them.",
)
stream = click.option(
    "--stream",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Read a big .h5ad from disk in row chunks, X and layers left there (auto: over 1 GiB).",
)
force_file = click.option("--force", is_flag=True, help="Overwrite an existing output file.")
log_normalize = click.option(
    "--log-normalize",
    type=MappedChoice(LOG_NORMALIZE),
    default="auto",
    show_default=True,
    help="log1p(CP10k) the data first (auto: raw counts given to a log-data method).",
)
