"""``mekscore signatures``: list, show and export the bundled signature library."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import Reporter, command

LIST_COLUMNS = ["id", "name", "compartment", "expected", "n_up", "n_down", "source", "citation"]


EPILOG = """\b
Examples:
  mekscore signatures list
  mekscore signatures list --tsv > library.tsv
  mekscore signatures show mhc1_apm
  mekscore signatures export --species mouse -o mek_mouse.gmt
  mekscore signatures export mhc1_apm ifng_ayers6 > two.gmt
  mekscore signatures export tis_gep18 -o gep.yaml   # weights, compartment, evidence kept"""


@click.group(epilog=EPILOG)
def signatures() -> None:
    """List, show and export the curated MEK-inhibitor signatures."""


@signatures.command("list")
@click.option("--tsv", is_flag=True, help="Plain tab-separated output (for scripts).")
@command
def list_signatures(*, tsv: bool, reporter: Reporter) -> None:
    """One line per signature: id, compartment, expected direction under MEKi, genes, source."""
    from ..sig import summary_table

    table = summary_table()[LIST_COLUMNS]
    if tsv:
        click.echo(table.to_csv(sep="\t", index=False), nl=False)
        return
    from rich.console import Console
    from rich.table import Table

    view = Table(title="mekscore signature library")
    for column in ("id", "compartment", "expected", "up/down", "source", "name"):
        view.add_column(column, no_wrap=column != "name")
    for r in table.itertuples(index=False):
        view.add_row(r.id, r.compartment, r.expected, f"{r.n_up}/{r.n_down}", r.source, r.name)
    console = Console()
    (console if console.is_terminal else Console(width=160)).print(view)


@signatures.command("show")
@click.argument("sig_id", metavar="ID")
@command
def show_signature(sig_id: str, reporter: Reporter) -> None:
    """All metadata of one signature: genes, weights, mouse genes, evidence."""
    from ..sig import get

    click.echo("\n".join(describe(get(sig_id))))


def describe(sig) -> list[str]:
    """Lines describing every field of a :class:`~mekscore.sig.Signature`."""
    source = "; ".join(f"{k}: {' '.join(str(v).split())}" for k, v in sig.source.items() if v)
    lines = [
        f"{sig.id}  ({sig.name}, version {sig.version})",
        f"program: {sig.program}    compartment: {sig.compartment}    "
        f"expected under MEK inhibition: {sig.expected}",
        f"description: {' '.join(sig.description.split())}",
        f"source: {source}",
        f"up ({len(sig.up)}): {' '.join(sig.up)}",
        f"down ({len(sig.down)}): {' '.join(sig.down) or '-'}",
        f"weights: {', '.join(f'{g}={w:g}' for g, w in sig.weights.items()) or 'none'}",
        "mouse genes: "
        + ("; ".join(f"{h}->{','.join(m) or 'none'}" for h, m in sig.mouse.items()) or "-"),
    ]
    lines += [f"  mouse note {gene}: {note}" for gene, note in sig.mouse_notes.items()]
    lines.append(f"evidence ({len(sig.evidence)}):")
    for ev in sig.evidence:
        ids = ", ".join(f"{k} {v}" for k, v in (("PMID", ev.pmid), ("doi", ev.doi)) if v)
        lines.append(f"  - [{ev.direction}] {ev.citation} ({ids}); {ev.species}, {ev.model}")
        lines.append(f"    {' '.join(ev.finding.split())}")
    return lines


@signatures.command("export")
@click.argument("ids", nargs=-1, metavar="[ID]...")
@click.option(
    "--species",
    type=click.Choice(["human", "mouse"]),
    default="human",
    show_default=True,
    help="Gene symbols to write (mouse: the curated MGI symbols).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Output file by extension: .gmt (gene lists) or .yaml/.yml (the library's schema: "
    "weights, compartment, expected direction, evidence). Default: GMT on stdout.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@command
def export_signatures(
    ids: tuple[str, ...], species: str, output: Path | None, *, force: bool, reporter: Reporter
) -> None:
    """Write signatures (all, or the IDs given) as GMT or as YAML.

    In GMT each signature is one line named by its id with its up genes; a signature
    with down genes gets a second line ``<id>_down``. GMT has no weights: export to
    .yaml to keep them (and a signature's biology); 'mekscore score' and 'compare' read
    both back with --signatures.
    """
    from ..errors import InputError
    from ..sig import get, gmt_lines, load_library, yaml_text

    kind = export_format(output)
    if output is not None:
        from ..io.write import check_output

        check_output(output, force=force)
    if kind == "yaml" and species != "human":
        raise InputError(
            "{species=} writes GMT gene lists; a .yaml export keeps the human genes with "
            "their curated mouse symbols (drop {species!p} or write .gmt)",
            species=species,
        )
    sigs = [get(i) for i in ids] if ids else sorted(load_library().values(), key=lambda s: s.id)
    if kind == "yaml":
        text = yaml_text(sigs)
    else:
        text = "\n".join(gmt_lines(sigs, species=species)) + "\n"
        _note_dropped_weights(sigs, reporter)
    if output is None:
        click.echo(text, nl=False)
        return
    from ..io.write import write_atomic

    write_atomic(output, lambda tmp: tmp.write_text(text, encoding="utf-8"), force=force)
    reporter.note(f"wrote {len(sigs)} signatures ({kind}, {species} genes) to {output}")


def export_format(output: Path | None) -> str:
    """``"gmt"`` or ``"yaml"`` from the output's extension (GMT on stdout).

    Examples
    --------
    >>> export_format(Path("x.yml")), export_format(None)
    ('yaml', 'gmt')
    """
    from ..errors import InputError
    from ..sig._yaml import YAML_SUFFIXES

    suffix = "" if output is None else output.suffix.lower()
    if output is None or suffix == ".gmt":
        return "gmt"
    if suffix in YAML_SUFFIXES:
        return "yaml"
    raise InputError(
        f"cannot tell the format of {output.name} from its extension; end it in .gmt "
        "(gene lists) or .yaml (the library's schema, weights kept)"
    )


def _note_dropped_weights(sigs, reporter: Reporter) -> None:
    """Say which signatures lose their gene weights in GMT."""
    weighted = [s.id for s in sigs if s.weights]
    if weighted:
        reporter.warn(
            f"GMT has no gene weights, so those of {', '.join(weighted)} are left out; "
            "export to .yaml to keep them"
        )
