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
KEY = "mekscore_compare"
if TYPE_CHECKING:  # pandas is imported inside the commands, to keep --help fast
    import pandas as pd

    from ..tl._record import Comparison

EXAMPLES = """
\b
Examples:
  mekscore compare scored.h5ad -o out --condition-key condition --control vehicle \\
      --treated trametinib --sample-key sample --compartment-key cell_type \\
      --compartment-map "tumor=Malignant,Epithelial;cd8_t=CD8 T"
  mekscore compare counts.csv --samples sheet.csv -o out --sample-key sample \\
      --condition-key timepoint --control pre --treated on --pair-key patient --method ssgsea
  mekscore compare four_arm.h5ad -o out --sample-key sample --condition-key arm \\
      --control vehicle --arms "cobi=MEKi;aPDL1=ICI;combo=MEKi+ICI" --covariate batch \\
      --compartment-key cell_type
  mekscore compare cohort.csv --samples sheet.csv -o out --sample-key sample \\
      --condition-key arm --control ICI --arms "ICI=ICI;ICI+MEKi=ICI+MEKi" \\
      --subject-key patient --time-key timepoint --baseline pre
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
@click.option("--condition-key", help="obs / sample-sheet column of the arms (conditions).")
@click.option("--control", help="Control arm of --condition-key (the reference of every contrast).")
@click.option(
    "--treated",
    multiple=True,
    help="Treated arm of --condition-key; repeat it for several arms (default with --arms: the "
    "arms listed there).",
)
@click.option(
    "--arms",
    help='What each arm contains, e.g. "cobi=MEKi;aPDL1=ICI;combo=MEKi+ICI": every arm against '
    "control and the arms it extends, the interaction and 'the combination beats both'.",
)
@click.option(
    "--agent-class",
    "agent_classes",
    help='Class of agents mekscore does not know, e.g. "drug7=mek_inhibitor" (classes: '
    "mek_inhibitor, mapk_inhibitor, mapk_activator, checkpoint, other).",
)
@click.option(
    "--covariate",
    "covariates",
    multiple=True,
    help="Sample-level column to adjust for (batch, sex, site...); repeat it for several.",
)
@click.option("--sample-key", required=True, help="Column naming each cell's (row's) sample.")
@click.option("--compartment-key", help="obs column of cell types (single-cell).")
@click.option(
    "--compartment-map",
    "compartments",
    help='Compartment -> labels, e.g. "tumor=Malignant,Epithelial;cd8_t=CD8 T".',
)
@click.option("--pair-key", help="Column of the pair (patient) in paired designs.")
@click.option("--subject-key", help="Column of the subject (patient) of repeated biopsies.")
@click.option("--time-key", help="Column of each biopsy's time point (with --subject-key).")
@click.option("--baseline", help="The untreated level of --time-key, e.g. pre.")
@click.option(
    "--between-key", help="Between-subject grouping that is not a treatment, e.g. response."
)
@click.option(
    "--design",
    "formula",
    help='Expert: a formula on sample-level columns, e.g. "~ arm * timepoint + batch" '
    "(with --contrast).",
)
@click.option(
    "--contrast",
    "contrasts",
    multiple=True,
    help="Expert: NAME=COLUMN:LEVEL-LEVEL, or NAME=TERM*WEIGHT[,TERM*WEIGHT] on the formula's "
    "columns; repeat it for several.",
)
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
@opt.signatures
@opt.layer
@opt.use_raw
@opt.log_normalize
@click.option(
    "--test",
    type=click.Choice(TESTS),
    help="Default: welch (unpaired) or paired-t (with --pair-key); designs with covariates, "
    "repeated biopsies or a formula are t-based (least squares, mixed model).",
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
def compare(input_path: Path, outdir: Path, reporter: Reporter, **options: Any) -> None:
    """Test treated against control samples and say whether each program moved as expected.

    INPUT is an .h5ad (scored already, or scored here) or a genes x samples table
    (CSV/TSV/GCT) with --samples giving the --sample-key and the design's columns.
    Two arms: --condition-key, --control, --treated. Several arms, combinations
    (--arms), covariates, repeated biopsies (--subject-key, --time-key) or a formula
    (--design, --contrast): every contrast gets its own verdicts.
    """
    from .. import tl
    from ..io.write import check_output_folder
    from ..report import render_report
    from ..tl._record import Comparison
    from ._design import design_keywords

    check_output_folder(outdir, force=options["force"])
    design = tl.Design(**design_keywords(options))
    mapping = parse_compartment_map(options["compartments"], options["compartment_key"])
    adata, bulk_table = load_study(
        input_path,
        options["sheet"],
        options["sample_key"],
        reporter,
        stream=options["stream"],
        use_raw=options["use_raw"],
    )
    tl.compare(
        adata,
        design,
        sample_key=options["sample_key"],
        compartment_key=options["compartment_key"],
        compartments=mapping,
        bulk=bulk_table,
        method=chosen_methods(options["method"], options["methods"]),
        signatures=options["signatures"],
        score_kwargs=score_settings(options, reporter),
        test=options["test"],
        alpha=options["alpha"],
        min_cells=options["min_cells"],
        aggregate=options["aggregate"],
        counts_layer=options["counts_layer"],
        competitive=options["competitive"],
        bulk_of=options["bulk_of"],
        purity_key=options["purity_key"],
        key_added=KEY,
    )
    comparison = Comparison.load(adata, KEY)
    if comparison.methods is not None:
        reporter.note(_method_dependence(comparison.methods, comparison.parameters["methods"]))
    html = render_report(comparison)
    write_outputs(outdir, comparison, html, input_path=input_path, force=options["force"])
    reporter.paragraph(summary_lines(comparison, outdir))


def score_settings(options: dict[str, Any], reporter: Reporter) -> dict[str, Any]:
    """The ``score_kwargs`` the command's options give (matrix, normalisation, progress)."""
    settings = {"log_normalize": options["log_normalize"]}
    settings |= {k: options[k] for k in ("layer", "use_raw") if options[k]}
    return settings | progress_settings(reporter)


def chosen_methods(method: str | None, methods: str | None) -> str | list[str] | None:
    """``--method`` or the list of ``--methods`` (they exclude each other).

    Examples
    --------
    >>> chosen_methods(None, "singscore, mean")
    ['singscore', 'mean']
    """
    from ..errors import InputError

    if method and methods:
        raise InputError("--method and --methods exclude each other; give one")
    if methods:
        return [m.strip() for m in methods.split(",") if m.strip()]
    return method


def _method_dependence(table: pd.DataFrame, methods: list[str]) -> str:
    """One line: which rows' verdicts depend on the scoring method."""
    flips = table.loc[table["consensus"] == "method-dependent", "signature"].tolist()
    which = f": {', '.join(flips)}" if flips else ""
    return (
        f"methods {', '.join(methods)}: {len(flips)} of {len(table)} rows method-dependent{which} "
        "(methods.csv); the report shows " + methods[0]
    )


def summary_lines(comparison: Comparison, outdir: Path) -> str:
    """The end-of-run summary: samples (bulk), values, PD status, counts, what was dropped.

    Designs with several contrasts also get the samples per design cell and, per
    contrast, its samples, the smallest standardised effect it can detect (power 0.8) and
    its verdict counts.
    """
    from ..report._text import aggregation_sentence

    verdict, parameters = comparison.results, comparison.parameters
    counts = _counts(verdict)
    tests = ", ".join(dict.fromkeys(verdict.loc[verdict["verdict"] != "not testable", "test"]))
    contrasts = verdict["contrast"].nunique()
    what = f"{contrasts} contrasts x " if contrasts > 1 else ""
    context = parameters.get("bulk_context")
    lines = [f"samples: {context['description']}"] if context else []
    lines.append(f"sample values: {aggregation_sentence(parameters)}")
    lines.append(f"pharmacodynamic control: {parameters['pd_status']}")
    method = parameters["method"] or "stored scores"
    lines.append(
        f"{len(verdict)} rows ({what}programs and abundances; {method}; tests: "
        f"{tests or parameters['test']}): {counts}."
    )
    if contrasts > 1:
        lines += _design_lines(comparison)
    if parameters["dropped"]:
        lines.append(f"dropped from every test: {parameters['dropped']}")
    thin = verdict[verdict["flag"].str.contains("signature genes (fewer than half)", regex=False)]
    if len(thin):
        parts = ", ".join(
            dict.fromkeys(
                f"{r.signature} ({r.n_genes_used} of {r.n_genes})" for r in thin.itertuples()
            )
        )
        lines.append(f"rows resting on fewer than half of their signature's genes: {parts}")
    lines += list(parameters["notes"])
    lines.append(f"Wrote {outdir}/")
    return "\n".join(lines)


def _design_lines(comparison: Comparison) -> list[str]:
    """The samples per design cell, then per contrast: n, detectable effect, verdict counts."""
    table = comparison.design.to_string(index=False).splitlines()
    lines = ["samples per design cell:", *(f"  {line}" for line in table)]
    detectable = comparison.detectable.set_index("words")
    for words, rows in _by_contrast(comparison.results):
        power = ""
        if words in detectable.index:
            n, effect = detectable.loc[words, ["n", "detectable"]]
            power = f" [{n}; detects >= {effect:.2g} SD at power 0.8]"
        lines.append(f"  {words}{power}: {_counts(rows)}")
    return lines


def _counts(rows: pd.DataFrame) -> str:
    """``"2 consistent, 9 no change detected"``: the rows' verdicts, most frequent first."""
    return ", ".join(f"{n} {v}" for v, n in rows["verdict"].value_counts().items())


def _by_contrast(verdict: pd.DataFrame):
    """``(contrast words, its rows)`` in the table's order."""
    from ..pl._style import contrasts_of

    for words in contrasts_of(verdict):
        yield words, verdict[verdict["contrast"] == words]


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
        raise InputError(
            "{compartments!p} needs {compartment_key!p} (the column it maps)",
            compartments=text,
            compartment_key=compartment_key,
        )
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
    *,
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
    if streamed(input_path, fmt, stream, use_raw=use_raw):
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


def streamed(input_path: Path, fmt: str, stream: str, *, use_raw: bool) -> bool:
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
    from ..io.read import read_sheet

    sheet = read_sheet(path)
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


def write_outputs(
    outdir: Path, comparison, html: str, *, input_path: Path, force: bool = False
) -> None:
    """Write the record's files in a temporary folder renamed to ``outdir``.

    ``verdict.json`` holds the parameters (with the input file) and the verdict table,
    ``verdict.csv`` the table (with the competitive NES/FDR when computed),
    ``samples.csv`` the per-sample view, ``methods.csv`` the per-method verdicts when
    several methods were compared, and ``report.html`` the report.
    """
    from ..io.write import csv_safe, write_folder

    results = comparison.verdict_table()
    parameters = dict(comparison.parameters, input=str(input_path))
    payload = {
        "parameters": parameters,
        "results": json.loads(results.to_json(orient="records", double_precision=15)),
    }
    text = json.dumps(payload, indent=2, default=_json_value)
    writers = {
        "verdict.json": lambda p: p.write_text(text + "\n", encoding="utf-8"),
        "verdict.csv": lambda p: csv_safe(results).to_csv(p, index=False),
        "samples.csv": lambda p: csv_safe(comparison.samples).to_csv(p, index=False),
        "report.html": lambda p: p.write_text(html, encoding="utf-8"),
    }
    if comparison.methods is not None:
        writers["methods.csv"] = lambda p: csv_safe(comparison.methods).to_csv(p, index=False)
    write_folder(outdir, writers, force=force)


def _json_value(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else str(value)
