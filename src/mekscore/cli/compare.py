"""``mekscore compare``: verdict table, JSON, per-sample view and HTML report in one folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from . import _options as opt
from ._common import Reporter, command

TESTS = ("welch", "mannwhitney", "paired-t", "wilcoxon")
OUTPUTS = ("verdict.json", "verdict.csv", "samples.csv", "report.html")
if TYPE_CHECKING:  # pandas is imported inside the commands, to keep --help fast
    import pandas as pd

EXAMPLES = """
\b
Examples:
  mekscore compare scored.h5ad -o out --condition-key condition --control vehicle \\
      --treated trametinib --sample-key sample --compartment-key cell_type \\
      --compartment-map "tumor=Malignant,Epithelial;cd8_t=CD8 T"
  mekscore compare counts.csv --samples sheet.csv -o out --sample-key sample \\
      --condition-key timepoint --control pre --treated on --pair-key patient --method ssgsea
"""


@click.command("compare", epilog=EXAMPLES)
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    "outdir",
    required=True,
    type=click.Path(path_type=Path),
    help="Output folder (verdict.json, verdict.csv, samples.csv, report.html).",
)
@click.option("--condition-key", required=True, help="obs / sample-sheet column of conditions.")
@click.option("--control", required=True, help="Control label of --condition-key.")
@click.option("--treated", required=True, help="Treated label of --condition-key.")
@click.option("--sample-key", required=True, help="Column naming each cell's (row's) sample.")
@click.option("--compartment-key", help="obs column of cell types (single-cell).")
@click.option(
    "--compartment-map",
    help='Compartment -> labels, e.g. "tumor=Malignant,Epithelial;cd8_t=CD8 T".',
)
@click.option("--pair-key", help="Column of the pair (patient) in paired designs.")
@click.option(
    "--samples",
    "sheet",
    type=click.Path(path_type=Path),
    help="Sample sheet (CSV/TSV) for a genes x samples table input.",
)
@click.option(
    "--method",
    help="Score here with this method (default: stored scores; else mean for "
    "pseudobulk and bulk, ucell for cells).",
)
@click.option(
    "--methods",
    metavar="M1,M2[,...]",
    help="Compare once per method (a rank-based and a standardised one, e.g. singscore,mean); "
    "the report shows the first, methods.csv every method's verdict and their consensus.",
)
@click.option(
    "--signatures",
    default="all",
    show_default=True,
    help="Library ids (comma-separated), 'all', or a GMT file, when scoring here.",
)
@click.option("--layer", help="Layer to score (default X).")
@click.option("--use-raw", is_flag=True, help="Score adata.raw (log data kept beside a scaled X).")
@click.option(
    "--test",
    type=click.Choice(TESTS),
    help="Default: welch (unpaired) or paired-t (with --pair-key).",
)
@click.option(
    "--alpha",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.05,
    show_default=True,
    help="q-value threshold (intervals are at 1 - alpha).",
)
@click.option(
    "--min-cells",
    type=int,
    default=10,
    show_default=True,
    help="Drop sample x compartment with fewer cells.",
)
@click.option(
    "--aggregate",
    type=click.Choice(["auto", "pseudobulk", "mean"]),
    default="auto",
    show_default=True,
    help="Per sample x compartment: score the summed counts (pseudobulk, log1p CP10k; "
    "needs raw counts) or the mean of cell scores; auto: pseudobulk when counts exist "
    "and no stored scores are used.",
)
@click.option(
    "--counts-layer",
    default="counts",
    show_default=True,
    help="Layer with raw counts for --aggregate pseudobulk (X is used if it holds counts).",
)
@click.option(
    "--bulk-of",
    default="auto",
    show_default=True,
    help="Bulk samples without cell labels: what they are. auto (from marker genes), tumor "
    "(a tumour-cell culture or sorted tumour cells), tissue, or an immune population "
    "(cd8_t, cd4_t, treg, myeloid, dc, nk, b, t_cells, leukocytes).",
)
@click.option(
    "--purity-key",
    help="Sample-sheet column of each bulk sample's tumour content (fraction in (0, 1]); "
    "tumour programs in mixed tissue are adjusted for it.",
)
@opt.stream
@click.option("--competitive", is_flag=True, help="Add the competitive (GSEA) view; needs counts.")
@click.option("--force", is_flag=True, help="Write into an existing non-empty output folder.")
@command
def compare(
    input_path: Path,
    outdir: Path,
    condition_key: str,
    control: str,
    treated: str,
    sample_key: str,
    compartment_key: str | None,
    compartment_map: str | None,
    pair_key: str | None,
    sheet: Path | None,
    method: str | None,
    methods: str | None,
    signatures: str,
    layer: str | None,
    use_raw: bool,
    test: str | None,
    alpha: float,
    min_cells: int,
    aggregate: str,
    counts_layer: str,
    bulk_of: str,
    purity_key: str | None,
    stream: str,
    competitive: bool,
    force: bool,
    reporter: Reporter,
) -> None:
    """Test treated against control samples and say whether each program moved as expected.

    INPUT is an .h5ad (scored already, or scored here) or a genes x samples table
    (CSV/TSV/GCT) with --samples giving the --sample-key and --condition-key columns.
    """
    from .. import tl
    from ..report import render_report
    from ..tl.competitive import competitive as competitive_view

    check_outdir(outdir, force)
    compartments = parse_compartment_map(compartment_map, compartment_key)
    adata, bulk_table = load_study(input_path, sheet, sample_key, reporter, stream, use_raw)
    score_kwargs = {k: v for k, v in (("layer", layer), ("use_raw", use_raw)) if v}
    score_kwargs.update(progress_settings(reporter))
    common = dict(condition_key=condition_key, control=control, treated=treated,
                  sample_key=sample_key, compartment_key=compartment_key,
                  compartments=compartments, bulk=bulk_table)  # fmt: skip
    settings = dict(pair_key=pair_key, signatures=signatures, score_kwargs=score_kwargs,
                    test=test, alpha=alpha, min_cells=min_cells, aggregate=aggregate,
                    counts_layer=counts_layer, bulk_of=bulk_of,
                    purity_key=purity_key)  # fmt: skip
    extra, key = {}, "mekscore_compare"
    if methods:
        from ..errors import InputError

        if method:
            raise InputError("--method and --methods exclude each other; give one")
        names = [m.strip() for m in methods.split(",") if m.strip()]
        table = tl.compare_methods(adata, names, **common, **settings)
        extra["methods.csv"] = lambda p: table.to_csv(p, index=False)
        key = f"mekscore_compare_methods_{names[0]}"
        reporter.note(_method_dependence(table, names))
    else:
        tl.compare(adata, **common, **settings, method=method)
    stored = adata.uns[key]
    verdict, samples = stored["results"], stored["samples"]
    parameters = dict(stored["parameters"], input=str(input_path), signatures=signatures)
    view = competitive_view(adata, **common, min_cells=min_cells) if competitive else None
    results = with_competitive(verdict, view)
    genes = stored.get("genes")
    qc = tl.signature_qc(adata, signatures, layer=layer, use_raw=use_raw)  # max_obs rows only
    html = render_report(
        verdict, samples, parameters=parameters, match_report=genes, competitive=view,
        composition=stored.get("composition"), qc=qc,
    )  # fmt: skip
    write_outputs(outdir, parameters, results, samples, html, force=force, extra=extra)
    reporter.paragraph(summary_lines(verdict, parameters, outdir))


def _method_dependence(table: pd.DataFrame, methods: list[str]) -> str:
    """One line: which rows' verdicts depend on the scoring method."""
    flips = table.loc[table["consensus"] == "method-dependent", "signature"].tolist()
    which = f": {', '.join(flips)}" if flips else ""
    return (
        f"methods {', '.join(methods)}: {len(flips)} of {len(table)} rows method-dependent{which} "
        "(methods.csv); the report shows " + methods[0]
    )


def summary_lines(verdict: pd.DataFrame, parameters: dict[str, Any], outdir: Path) -> str:
    """The end-of-run summary: what the samples are (bulk), PD status, counts, what was dropped."""
    counts = ", ".join(f"{n} {v}" for v, n in verdict["verdict"].value_counts().items())
    context = parameters.get("bulk_context")
    lines = [f"samples: {context['description']}"] if context else []
    lines.append(f"pharmacodynamic control: {parameters['pd_status']}")
    lines.append(
        f"{len(verdict)} rows of programs and abundances ({parameters['aggregate']}, "
        f"{parameters['method'] or 'stored scores'}, {parameters['test']}): {counts}."
    )
    if parameters["dropped"]:
        lines.append(f"dropped from every test: {parameters['dropped']}")
    lines += list(parameters["notes"])
    lines.append(f"Wrote {outdir}/")
    return "\n".join(lines)


def check_outdir(outdir: Path, force: bool) -> None:
    """Refuse an output folder that is a file, or is not empty (unless ``force``)."""
    from ..errors import InputError

    if outdir.exists() and not outdir.is_dir():
        raise InputError(f"output {outdir} is a file; -o takes a folder")
    if outdir.is_dir() and any(outdir.iterdir()) and not force:
        raise InputError(f"output folder {outdir} is not empty; pass --force to write into it")


def parse_compartment_map(text: str | None, compartment_key: str | None) -> dict | None:
    """Parse ``"tumor=Malignant,Epithelial;cd8_t=CD8 T"`` into compartment -> labels.

    Examples
    --------
    >>> parse_compartment_map("tumor=Malignant, Epithelial; cd8_t=CD8 T", "cell_type")
    {'tumor': ['Malignant', 'Epithelial'], 'cd8_t': ['CD8 T']}
    """
    from ..errors import InputError
    from ..sig import COMPARTMENTS

    if text is None:
        return None
    if compartment_key is None:
        raise InputError("--compartment-map needs --compartment-key (the column it maps)")
    mapping: dict[str, list[str]] = {}
    for entry in (e.strip() for e in text.split(";")):
        if not entry:
            continue
        name, sep, labels = (part.strip() for part in entry.partition("="))
        values = [label.strip() for label in labels.split(",") if label.strip()]
        if not sep or not name or not values:
            raise InputError(
                f"--compartment-map entry {entry!r} is not COMPARTMENT=label[,label...]; "
                'e.g. "tumor=Malignant,Epithelial;cd8_t=CD8 T"'
            )
        if name not in COMPARTMENTS:
            raise InputError(
                f"--compartment-map: unknown compartment {name!r}; use {', '.join(COMPARTMENTS)}"
            )
        if name in mapping:
            raise InputError(f"--compartment-map names {name!r} twice; list its labels once")
        mapping[name] = values
    if not mapping:
        raise InputError('--compartment-map is empty; e.g. "tumor=Malignant;cd8_t=CD8 T"')
    return mapping


def progress_settings(reporter: Reporter) -> dict[str, bool]:
    """``{"progress": True}`` when bars are drawn (on stderr), else ``{}``."""
    return {"progress": True} if reporter.progress else {}


def load_study(
    input_path: Path,
    sheet: Path | None,
    sample_key: str,
    reporter: Reporter,
    stream: str = "never",
    use_raw: bool = False,
):
    """Read INPUT; a genes x samples table gets its ``obs`` from the sample sheet.

    A big ``.h5ad`` (``stream="auto"``) or any ``.h5ad`` (``"always"``) is opened
    with ``X`` and its layers left on disk (:func:`mekscore.io.backed.open_backed`).
    Returns ``(adata, is_table)``.
    """
    from ..errors import InputError
    from ..io.backed import open_backed
    from ..io.read import BULK_FORMATS, detect_format, read_input

    if not input_path.exists():
        raise FileNotFoundError(f"input file not found: {input_path}")
    fmt = detect_format(input_path)
    if streamed(input_path, fmt, stream, use_raw):
        adata = open_backed(input_path)
    else:
        adata = read_input(input_path, fmt=fmt)
    if fmt not in BULK_FORMATS:
        if sheet is not None:
            raise InputError(
                "--samples is for table inputs; an .h5ad keeps its sample sheet in obs"
            )
        return adata, False
    if sheet is None:
        raise InputError(
            "a genes x samples table needs --samples SHEET.csv with the --sample-key and "
            "--condition-key columns"
        )
    obs = read_sample_sheet(sheet, sample_key, adata.obs_names)
    left_out = adata.n_obs - len(obs)
    if left_out:
        reporter.note(f"{left_out} table column(s) not in {sheet.name} were left out")
        adata = adata[obs.index].copy()
    adata.obs = obs
    return adata, True


def streamed(input_path: Path, fmt: str, stream: str, use_raw: bool) -> bool:
    """Whether to open INPUT with its matrices on disk (``--stream``)."""
    import h5py

    from ..errors import InputError
    from ..io.backed import should_stream

    if stream == "always" and (fmt != "h5ad" or use_raw):
        raise InputError("--stream always needs an .h5ad input compared without --use-raw")
    if stream == "never" or fmt != "h5ad" or use_raw:
        return False
    if not h5py.is_hdf5(input_path):
        raise InputError(f"{input_path} is not a valid .h5ad file (not an HDF5 file)")
    return stream == "always" or should_stream(input_path)


def read_sample_sheet(path: Path, sample_key: str, samples: pd.Index) -> pd.DataFrame:
    """The rows of a CSV/TSV sample sheet for the ``samples`` it lists (table order), as ``obs``.

    A sheet may list a subset of the table's samples; samples it lists that the
    table lacks are refused.
    """
    import pandas as pd

    from ..errors import InputError
    from ..io.checks import duplicated_names

    if not path.is_file():
        raise FileNotFoundError(f"sample sheet not found: {path}")
    sep = "\t" if path.suffix.lower() in (".tsv", ".txt") else ","
    sheet = pd.read_csv(path, sep=sep, dtype=str)
    if sample_key not in sheet.columns:
        raise InputError(
            f"--sample-key {sample_key!r} is not a column of {path.name} "
            f"(columns: {', '.join(sheet.columns)})"
        )
    dup = duplicated_names(sheet[sample_key])
    if dup:
        raise InputError(f"{path.name} lists sample(s) {', '.join(dup[:5])} more than once")
    extra = pd.Index(sheet[sample_key]).difference(samples)
    if len(extra):
        raise InputError(
            f"{len(extra)} sample(s) of {path.name} are not columns of the table "
            f"(e.g. {', '.join(extra[:5])}); fix the --sample-key column or the table"
        )
    listed = samples[samples.isin(sheet[sample_key])]
    obs = sheet.set_index(sheet[sample_key].to_numpy()).loc[listed]
    obs.index = pd.Index(listed, name=None)
    return obs


def with_competitive(verdict: pd.DataFrame, view: pd.DataFrame | None) -> pd.DataFrame:
    """The verdict table with the competitive NES/FDR beside it (when computed)."""
    if view is None:
        return verdict
    extra = view[["signature", "compartment", "n_genes", "nes", "fdr"]].rename(
        columns={c: f"competitive_{c}" for c in ("n_genes", "nes", "fdr")}
    )
    return verdict.merge(extra, on=["signature", "compartment"], how="left")


def write_outputs(
    outdir: Path,
    parameters: dict[str, Any],
    results: pd.DataFrame,
    samples: pd.DataFrame,
    html: str,
    *,
    force: bool = False,
    extra: dict | None = None,
) -> None:
    """Write the outputs (and ``extra``: name -> writer) in a temporary folder renamed to outdir."""
    from ..io.write import write_folder

    payload = {
        "parameters": parameters,
        "results": json.loads(results.to_json(orient="records", double_precision=15)),
    }
    text = json.dumps(payload, indent=2, default=_json_value)
    writers = {
        "verdict.json": lambda p: p.write_text(text + "\n", encoding="utf-8"),
        "verdict.csv": lambda p: results.to_csv(p, index=False),
        "samples.csv": lambda p: samples.to_csv(p, index=False),
        "report.html": lambda p: p.write_text(html, encoding="utf-8"),
    }
    write_folder(
        outdir, {**{name: writers[name] for name in OUTPUTS}, **(extra or {})}, force=force
    )


def _json_value(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else str(value)
