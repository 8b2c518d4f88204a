"""Signatures: the curated library, custom signatures and GMT files."""

from ._yaml import read_yaml, signatures_from_text, yaml_text
from .gmt import from_dict, from_gmt, gmt_lines, read_gmt, resolve
from .library import get, library_dir, list_ids, load_library, select, summary_table
from .model import COMPARTMENTS, DIRECTIONS, Evidence, Signature, SignatureError

__all__ = [
    "COMPARTMENTS",
    "DIRECTIONS",
    "Evidence",
    "Signature",
    "SignatureError",
    "from_dict",
    "from_gmt",
    "get",
    "gmt_lines",
    "library_dir",
    "list_ids",
    "load_library",
    "read_gmt",
    "read_yaml",
    "signatures_from_text",
    "resolve",
    "select",
    "summary_table",
    "yaml_text",
]
