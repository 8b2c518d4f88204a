"""Read and write GMT files and turn user input into :class:`Signature` objects."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from .library import get, load_library
from .model import Signature, SignatureError

DOWN_SUFFIX = "_down"

SignatureSpec = (
    str | os.PathLike | Signature | Mapping | Iterable[str | Signature]
)  # what tl.score(signatures=...) accepts


def read_gmt(path: str | os.PathLike) -> dict[str, list[str]]:
    r"""Read a GMT file into ``name -> genes``.

    Each line is ``name<TAB>description<TAB>gene1<TAB>gene2...``. Blank lines are skipped.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.gmt"
    >>> _ = p.write_text("A\tdesc\tCD8A\tGZMB\n")
    >>> read_gmt(p)
    {'A': ['CD8A', 'GZMB']}
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"GMT file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SignatureError(f"{path} is not a text GMT file (not UTF-8)") from None
    sets: dict[str, list[str]] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.rstrip("\n\r").split("\t")
        if len(parts) < 3:
            raise SignatureError(
                f"{path}:{lineno}: a GMT line needs name<TAB>description<TAB>genes; "
                "check that the file is tab-separated"
            )
        name = parts[0].strip()
        if name in sets:
            raise SignatureError(f"{path}:{lineno}: gene set {name!r} appears twice")
        genes = list(dict.fromkeys(g.strip() for g in parts[2:] if g.strip()))
        sets[name] = genes
    if not sets:
        raise SignatureError(f"{path}: no gene sets found in the GMT file")
    return sets


def gmt_lines(signatures: Iterable[Signature], species: str = "human") -> list[str]:
    r"""GMT lines for signatures: ``<id>`` with the up genes, ``<id>_down`` with down genes.

    Examples
    --------
    >>> gmt_lines([Signature.custom("s", up=["A", "B"], down=["C"])])
    ['s\ts\tA\tB', 's_down\ts (down genes)\tC']
    """
    lines = []
    for sig in signatures:
        up, down, _ = sig.for_species(species)
        lines.append("\t".join([sig.id, sig.name, *up]))
        if down:
            lines.append("\t".join([sig.id + DOWN_SUFFIX, f"{sig.name} (down genes)", *down]))
    return lines


def from_dict(mapping: Mapping) -> list[Signature]:
    """Custom signatures from ``name -> genes`` or ``name -> {"up": [...], "down": [...]}``.

    Examples
    --------
    >>> [s.down for s in from_dict({"x": {"up": ["A"], "down": ["B"]}})]
    [('B',)]
    """
    out = []
    for name, value in mapping.items():
        if isinstance(value, Signature):
            out.append(value)
        elif isinstance(value, Mapping):
            unknown = set(value) - {"up", "down", "weights"}
            if unknown:
                raise SignatureError(f"signature {name!r}: unknown keys {sorted(unknown)}")
            out.append(
                Signature.custom(
                    str(name), value.get("up", ()), value.get("down", ()), value.get("weights")
                )
            )
        elif isinstance(value, str):
            raise SignatureError(f"signature {name!r}: give a list of genes, not one string")
        else:
            out.append(Signature.custom(str(name), list(value)))
    return out


def from_gmt(path: str | os.PathLike) -> list[Signature]:
    """Custom signatures from a GMT file; ``<name>_down`` lines are the down part of ``<name>``."""
    sets = read_gmt(path)
    merged: dict[str, dict[str, list[str]]] = {}
    for name, genes in sets.items():
        if name.endswith(DOWN_SUFFIX) and name[: -len(DOWN_SUFFIX)] in sets:
            merged.setdefault(name[: -len(DOWN_SUFFIX)], {})["down"] = genes
        else:
            merged.setdefault(name, {})["up"] = genes
    return from_dict(merged)


def resolve(spec: SignatureSpec) -> list[Signature]:
    """Turn anything ``tl.score(signatures=...)`` accepts into a list of signatures.

    ``"all"``, a library id, a GMT path, a list of ids/Signatures, a dict, or Signatures.

    Examples
    --------
    >>> len(resolve("all")) == len(load_library())
    True
    """
    if isinstance(spec, Signature):
        sigs = [spec]
    elif isinstance(spec, Mapping):
        sigs = from_dict(spec)
    elif isinstance(spec, str | os.PathLike):
        text = os.fspath(spec)
        if text == "all":
            sigs = sorted(load_library().values(), key=lambda s: s.id)
        elif text.lower().endswith(".gmt") or Path(text).is_file():
            sigs = from_gmt(text)
        else:
            sigs = [get(sid.strip()) for sid in text.split(",") if sid.strip()]
    else:
        sigs = [s if isinstance(s, Signature) else get(str(s)) for s in spec]
    if not sigs:
        raise SignatureError("no signatures given")
    ids = [s.id for s in sigs]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise SignatureError(f"signature names must be unique; repeated: {dup}")
    return sigs
