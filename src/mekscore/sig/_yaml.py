"""A user's own signatures in the library's YAML schema: read them, and write any signature so."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import yaml

from .model import Signature, SignatureError

#: Extensions read (and written) as signature YAML.
YAML_SUFFIXES = (".yaml", ".yml")


def read_yaml(path: str | os.PathLike) -> list[Signature]:
    r"""Signatures from a YAML file in the library's schema: one mapping, or a list of them.

    The schema is that of ``signatures/*.yaml`` (see ``mekscore signatures show``), read
    as a user's signature (:meth:`Signature.from_dict` with ``library=False``): ``id``,
    ``genes``, ``compartment`` and ``expected`` are required, so a custom signature
    carries where it is read and which way MEK inhibition should move it (with the
    evidence) into ``compare``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "mine.yaml"
    >>> _ = p.write_text("id: ifn\ngenes: {up: [STAT1, IRF1, GBP1]}\ncompartment: tumor\n"
    ...                  "expected: {direction: unclear}\n")
    >>> [(s.id, s.compartment, s.expected) for s in read_yaml(p)]
    [('ifn', 'tumor', 'unclear')]
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"signature file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SignatureError(f"{path} is not a text YAML file (not UTF-8)") from None
    sigs = signatures_from_text(text, str(path))
    if not sigs:
        raise SignatureError(f"{path} holds no signature")
    return sigs


def signatures_from_text(text: str, where: str) -> list[Signature]:
    """Signatures from YAML text in the library's schema (``where`` names it in errors).

    Examples
    --------
    >>> [s.id for s in signatures_from_text(yaml_text([Signature.custom("s", up=["A"])]), "x")]
    ['s']
    >>> signatures_from_text("", "x")
    []
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        raise SignatureError(f"{where} is not valid YAML{line}; check its indentation") from None
    if data is None:
        return []
    sigs = []
    for entry in data if isinstance(data, list) else [data]:
        try:
            sigs.append(Signature.from_dict(entry, library=False))
        except SignatureError as err:
            raise SignatureError(f"{Path(where).name}: {err}") from None
    return sigs


def yaml_text(signatures: Iterable[Signature]) -> str:
    """The signatures as one YAML document (a list) that :func:`read_yaml` reads back.

    Examples
    --------
    >>> print(yaml_text([Signature.custom("s", up=["A"], weights={"A": 2.0})]))
    - id: s
      name: s
      version: custom
      description: ''
      program: custom
      compartment: any
      genes:
        up:
        - A
        down: []
        weights:
          A: 2.0
      expected:
        direction: unclear
        evidence: []
      source:
        type: custom
    <BLANKLINE>
    """
    entries = [s.to_dict() for s in signatures]
    return yaml.safe_dump(entries, sort_keys=False, allow_unicode=True, width=100)


__all__ = ["YAML_SUFFIXES", "read_yaml", "signatures_from_text", "yaml_text"]
