"""Input and output: readers, input checks and atomic writers."""

from ..errors import InputError
from .read import detect_format, read_gct, read_h5ad, read_input, table_to_anndata
from .write import check_output, write_atomic, write_h5ad, write_table

__all__ = [
    "InputError",
    "check_output",
    "detect_format",
    "read_gct",
    "read_h5ad",
    "read_input",
    "table_to_anndata",
    "write_atomic",
    "write_h5ad",
    "write_table",
]
