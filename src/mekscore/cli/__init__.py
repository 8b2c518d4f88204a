"""The ``mekscore`` command line: ``mekscore signatures ...``, ``mekscore score ...``."""

import click

from .. import __version__
from ._common import Group
from .compare import compare
from .demo import demo
from .qc import qc
from .score import score
from .signatures import signatures

EPILOG = """\b
Examples:
  mekscore signatures list
  mekscore score pbmc.h5ad -o scored.h5ad
  mekscore score tumours.gct -o scores.tsv"""


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EPILOG)
@click.version_option(__version__, prog_name="mekscore")
def main() -> None:
    """Score MEK-inhibitor immune signatures in single-cell and bulk data.

    Run 'mekscore COMMAND --help' for the options and examples of each command.
    """


main.add_command(signatures)
main.add_command(score)
main.add_command(compare)
main.add_command(demo)
main.add_command(qc)
