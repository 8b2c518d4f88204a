"""``mekscore score``: score a file with signatures and write the scores to a new file."""

from __future__ import annotations

import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..methods import METHOD_NAMES, Param, default_method, method_info
from . import _options as opt
from ._common import Reporter, command

if TYPE_CHECKING:  # anndata is imported inside the commands, to keep --help fast
    from anndata import AnnData

#: What each data kind is on this command's input.
INPUT_KINDS = {"cells": "an .h5ad or 10x input", "samples": "a CSV/TSV/GCT table"}


def data_kind(fmt: str) -> str:
    """``"cells"`` for single-cell formats (.h5ad, 10x), ``"samples"`` for tables.

    Examples
    --------
    >>> data_kind("h5ad"), data_kind("gct")
    ('cells', 'samples')
    """
    return "cells" if fmt in ("h5ad", "10x") else "samples"


def method_parameters() -> dict[str, list[tuple[str, Param]]]:
    """Parameter name -> the ``(method, Param)`` pairs that offer it on the command line."""
    offered: dict[str, list[tuple[str, Param]]] = {}
    for name in METHOD_NAMES:
        for param in method_info(name).parameters:
            if param.cli:
                offered.setdefault(param.name, []).append((name, param))
    return offered


def _default_text(param: Param) -> str:
    if param.type == "bool":
        return "on" if param.default else "off"
    return str(param.default)


def _method_option(name: str, offered: list[tuple[str, Param]]):
    """One click option for a parameter shared by the methods in ``offered``."""
    types = {p.type for _, p in offered}
    flag = "--" + name.replace("_", "-")
    help_ = "; ".join(f"{m}: {p.help} (default {_default_text(p)})" for m, p in offered) + "."
    if types == {"bool"}:
        return click.option(f"{flag}/--no-{flag[2:]}", name, default=None, help=help_)
    if types == {"choice"}:
        choices = list(dict.fromkeys(c for _, p in offered for c in p.choices))
        return click.option(flag, name, type=click.Choice(choices), help=help_)
    if not types <= {"int", "float", "count_or_fraction"}:
        raise TypeError(f"methods give parameter {name!r} clashing types {sorted(types)}")
    type_ = click.INT if types == {"int"} else click.FLOAT
    return click.option(flag, name, type=type_, help=help_)


def method_options(func):
    """One option per method parameter, derived from the method records (default: unset)."""
    for name, offered in reversed(method_parameters().items()):
        func = _method_option(name, offered)(func)
    return func


def _methods(predicate) -> str:
    return ", ".join(n for n in METHOD_NAMES if predicate(method_info(n)))


def defaults_text(kinds: dict[str, str]) -> str:
    """The default method per data kind and why (``kinds``: kind -> what it is on this input)."""
    lines = []
    for kind, what in kinds.items():
        meth = method_info(default_method(kind))
        lines.append(f"{meth.name} for {kind} ({what}): {meth.why_default}.")
    return " ".join(lines)


def paragraphs(*texts: str) -> str:
    """Help paragraphs filled to 88 columns, kept as written by click (no rewrapping)."""
    return "\n\n".join("\b\n" + textwrap.fill(" ".join(t.split()), width=88) for t in texts)


EXAMPLES = """\b
Examples:
  mekscore score pbmc.h5ad -o scored.h5ad
  mekscore score pbmc.h5ad -o scores.csv --method aucell --max-rank 1500
  mekscore score tumours.gct -o scores.tsv --signatures mhc1_apm,mapk_output_mpas
  mekscore score pbmc.h5ad -o scored.h5ad --use-raw --signatures my_sets.gmt"""

EPILOG = "\n\n".join(
    [
        EXAMPLES,
        paragraphs(
            f"Default method (shared with 'mekscore compare'): {defaults_text(INPUT_KINDS)}",
            f"Rank-based methods ({_methods(lambda m: m.kind == 'rank')}) read each "
            "observation's own gene ranks; the others put genes on a common scale. ssGSEA's "
            "normalisation, GSVA, z-score, PLAGE and scanpy depend on the other observations "
            "scored with them.",
            "Data checks: NaN/inf values, empty matrices and duplicated gene or sample names "
            "are refused. Raw integer counts given to a method that expects log data "
            f"({_methods(lambda m: m.data == 'log')}) are scored as log1p(CP10k) of them "
            "(mekscore.pp.log_normalize, chunk by chunk when streamed), with a warning; "
            "--log-normalize never scores them as given. The output .h5ad keeps the original "
            "matrix. Scaled data (negative, genes centred on 0; only "
            f"{_methods(lambda m: m.standardises_genes)} standardise genes themselves), "
            "unlogged data (TPM/FPKM-like) given to a log method, and all-zero observations "
            "get a warning with the fix. Tables are genes x samples, gene names in the first "
            "column; .gz, .bz2, .xz and .zip files are read.",
            "Output by extension: .h5ad (the input with scores in obsm['mekscore_<method>'] "
            "and provenance in uns['mekscore']), or .csv/.tsv/.parquet (observations x "
            "signatures). Exit codes: 0 success, 2 bad input or options, 1 other failures.",
        ),
    ]
)


@click.command(epilog=EPILOG)
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="Output file: .h5ad, .csv, .tsv or .parquet.",
)
@click.option(
    "-m",
    "--method",
    type=click.Choice(METHOD_NAMES),
    help=f"Scoring method (default: {default_method('cells')} for cells, "
    f"{default_method('samples')} for tables; see below).",
)
@opt.signatures
@opt.input_format
@opt.layer
@opt.use_raw
@opt.log_normalize
@click.option("--gene-symbols", metavar="COLUMN", help="var column holding gene symbols.")
@opt.species
@click.option(
    "--min-genes",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Skip signatures with fewer genes found.",
)
@click.option("--chunk-size", type=click.IntRange(min=1), help="Rows scored at a time.")
@opt.duplicates
@opt.stream
@opt.force_file
@method_options
@command
def score(input_path: Path, output: Path, reporter: Reporter, **options: Any) -> None:
    """Score cells or samples with signatures and write the scores to a new file.

    INPUT is an .h5ad file, a genes x samples table (CSV/TSV/GCT) or a 10x folder.
    """
    from ..io.read import detect_format

    if not input_path.exists():
        raise FileNotFoundError(f"input file not found: {input_path}")
    fmt = options.pop("input_format") or detect_format(input_path)
    job = _prepare(input_path, output, fmt, options)
    adata = _read(input_path, fmt, job)
    run_scoring(adata, job, reporter)
    _write(adata, input_path, output, job)
    reporter.paragraph(summary(adata, job, output))


@dataclass(frozen=True)
class ScoreJob:
    """The parsed and checked options of one ``mekscore score`` run."""

    method: Any  # mekscore.methods.Method (imported lazily, to keep --help fast)
    params: dict[str, Any]
    sigs: list
    layer: str | None
    use_raw: bool
    log_normalize: bool | str
    gene_symbols: str | None
    species: str
    chunk_size: int | None
    min_genes: int
    duplicates: str
    streamed: bool
    force: bool


def _prepare(input_path: Path, output: Path, fmt: str, options: dict) -> ScoreJob:
    """Check method, parameters, signatures and output before reading any data."""
    from ..errors import InputError
    from ..io.write import check_output, output_format
    from ..methods import get_method
    from ..sig import resolve

    options = dict(options)
    method = get_method(options.pop("method") or default_method(data_kind(fmt)))
    given = {key: options.pop(key) for key in method_parameters()}
    params = method_params(method, {k: v for k, v in given.items() if v is not None})
    sigs = resolve(options["signatures"])
    output_format(output)
    check_output(output, force=options["force"], inputs=[input_path])
    if options["layer"] and options["use_raw"]:
        raise InputError("--layer and --use-raw both choose the matrix to score; give only one")
    streamed = _streamed(input_path, fmt, options["stream"], method, use_raw=options["use_raw"])
    if streamed and output.suffix.lower() == ".h5ad":
        _check_appendable(input_path)
    return ScoreJob(
        method=method,
        params=params,
        sigs=sigs,
        layer=options["layer"],
        use_raw=options["use_raw"],
        log_normalize=options["log_normalize"],
        gene_symbols=options["gene_symbols"],
        species=options["species"],
        chunk_size=options["chunk_size"],
        min_genes=options["min_genes"],
        duplicates=options["duplicates"],
        streamed=streamed,
        force=options["force"],
    )


def method_params(meth, given: dict[str, Any]) -> dict[str, Any]:
    """``given`` checked against ``meth``'s record: its own options, valid values.

    Examples
    --------
    >>> from mekscore.methods import get_method
    >>> method_params(get_method("ssgsea"), {"alpha": 1})
    {'alpha': 1.0}
    """
    from ..errors import InputError

    own = [p.name for p in meth.parameters if p.cli]
    wrong = [k for k in given if k not in own]
    if wrong:
        named = ", ".join(f"{{{k}!p}}" for k in wrong)
        options = ", ".join(f"{{{k}!p}}" for k in own) or "none"
        raise InputError(
            f"{named} does not apply to method {{method!r}} (its options: {options})",
            method=meth.name,
            **dict.fromkeys([*wrong, *own]),
        )
    return {k: v for k, v in meth.params(given).items() if k in given}


def _streamed(input_path: Path, fmt: str, mode: str, method, *, use_raw: bool) -> bool:
    from ..errors import InputError, Setting
    from ..io.backed import should_stream
    from ..methods import STREAMABLE

    if mode == "never":
        return False
    if mode == "always" and (fmt != "h5ad" or use_raw):
        raise InputError("--stream always needs an .h5ad input scored without --use-raw")
    if mode == "always" and method.streaming is None:
        raise InputError(
            "method {method!r} needs all observations in memory, so it cannot stream; pass "
            "{never} or a method that streams ({streamable})",
            method=method.name,
            never=Setting("stream", "never"),
            streamable=", ".join(STREAMABLE),
        )
    if mode == "always":
        return True
    return fmt == "h5ad" and method.row_wise and not use_raw and should_stream(input_path)


def _check_appendable(path: Path) -> None:
    """Streamed scores are added to a copy of the file: its ``obsm`` must be an HDF5 group."""
    import h5py

    from ..errors import InputError

    with h5py.File(path, "r") as f:
        old_layout = "obsm" in f and not isinstance(f["obsm"], h5py.Group)
    if old_layout:
        raise InputError(
            f"{path} uses an old .h5ad layout, so scores cannot be added to a streamed "
            "copy; pass --stream never, or write a table (.csv/.tsv/.parquet) instead"
        )


def _read(input_path: Path, fmt: str, job: ScoreJob):
    from ..io.read import read_h5ad, read_input

    if job.streamed:
        return read_h5ad(input_path, backed=True)
    return read_input(input_path, fmt=fmt, duplicates=job.duplicates)


def run_scoring(adata: AnnData, job: ScoreJob, reporter: Reporter) -> None:
    """Score ``adata`` in place as the parsed command line asks."""
    from .. import tl

    tl.score(
        adata,
        job.sigs,
        job.method.name,
        layer=job.layer,
        use_raw=job.use_raw,
        log_normalize=job.log_normalize,
        gene_symbols=job.gene_symbols,
        species=job.species,
        chunk_size=job.chunk_size,
        min_genes=job.min_genes,
        progress=reporter.progress,
        **job.params,
    )
    prov = adata.uns["mekscore"][f"mekscore_{job.method.name}"]
    prov["cli"] = {
        "command": " ".join(["mekscore", *sys.argv[1:]]),
        "matrix": prov["matrix"],
        "preprocessing": prov["normalization"],
    }


def _write(adata, input_path: Path, output: Path, job: ScoreJob) -> None:
    from ..io.backed import write_scores_into_copy
    from ..io.write import write_atomic, write_h5ad, write_table

    method = job.method.name
    key = f"mekscore_{method}"
    obsm = {k: v for k, v in adata.obsm.items() if k == key or k.startswith(key + "_")}
    uns = {key: adata.uns["mekscore"][key]}
    if output.suffix.lower() != ".h5ad":
        write_table(obsm[key].rename_axis("obs"), output, force=job.force)
    elif job.streamed:
        write_atomic(
            output,
            lambda tmp: write_scores_into_copy(input_path, tmp, obsm, uns),
            force=job.force,
        )
    else:
        write_h5ad(adata, output, force=job.force)


def summary(adata, job: ScoreJob, output: Path) -> str:
    """The end-of-run paragraph: what was scored, what was skipped, where it went."""
    method = job.method.name
    prov = adata.uns["mekscore"][f"mekscore_{method}"]
    sigs = prov["signatures"]
    skipped = [s for s, info in sigs.items() if not info["scored"]]
    n_vars = adata.raw.n_vars if job.use_raw else adata.n_vars
    text = (
        f"Scored {adata.n_obs} observations x {n_vars} genes ({prov['matrix']}, "
        f"{prov['species']} genes) with {method}: {len(sigs) - len(skipped)} of {len(sigs)} "
        "signatures scored"
    )
    if skipped:
        text += f", skipped (fewer than {job.min_genes} genes found): {', '.join(skipped)}"
    text += f". Genes missing: {_missing_genes(sigs)}. Wrote {output}."
    return textwrap.fill(text, width=100)


def _missing_genes(sigs: dict, shown: int = 8) -> str:
    """``"sig 2/30, ..."`` for signatures with missing genes, at most ``shown`` of them."""
    parts = [
        f"{s} {len(info['genes_missing'])}/{len(info['genes_missing']) + len(info['genes_used'])}"
        for s, info in sigs.items()
        if len(info["genes_missing"])
    ]
    more = f" (+{len(parts) - shown} more)" if len(parts) > shown else ""
    return ", ".join(parts[:shown]) + more if parts else "none"
