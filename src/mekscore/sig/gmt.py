"""Read and write GMT files and turn user input into :class:`Signature` objects."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from ._yaml import YAML_SUFFIXES, read_yaml
from .library import get, load_library
from .model import Signature, SignatureError

DOWN_SUFFIX = "_down"
#: A gene-set name ending in an up or down suffix, any case: ``X_UP``, ``x_dn``, ``X_Down``.
_SIGNED_NAME = re.compile(r"^(?P<base>.+?)_(?P<part>up|dn|down)$", re.IGNORECASE)

SignatureSpec = (
    str | os.PathLike | Signature | Mapping | Iterable[str | Signature]
)  # what tl.score(signatures=...) accepts


def read_gmt(path: str | os.PathLike) -> dict[str, list[str]]:
    r"""Read a GMT file into ``name -> genes``.

    Each line is ``name<TAB>description<TAB>gene1<TAB>gene2...``. Blank lines are skipped.
    Every line is returned as it is; :func:`from_gmt` pairs up and down sets.

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
    r"""Custom signatures from a GMT file, with up and down sets paired into signed ones.

    A set named ``<name>_dn`` or ``<name>_down`` (suffix in any case, as MSigDB's
    ``..._UP`` / ``..._DN`` pairs) is the down part of the signature ``<name>`` when
    the file also holds its up part: ``<name>_up`` (any case) or ``<name>`` itself
    (the form :func:`gmt_lines` writes). The pair becomes one signed signature called
    ``<name>``. A set without a partner (an ``..._UP`` alone, a ``..._DN`` alone)
    stays an unsigned signature under its own name. Two candidates for one part (say
    ``X``, ``X_UP`` and ``X_DN``) are an error.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.gmt"
    >>> _ = p.write_text("S_UP\t-\tA\tB\nS_DN\t-\tC\nT_UP\t-\tD\n")
    >>> [(s.id, s.up, s.down) for s in from_gmt(p)]
    [('S', ('A', 'B'), ('C',)), ('T_UP', ('D',), ())]
    """
    return from_dict(pair_signed(read_gmt(path), source=str(path)))


def pair_signed(sets: Mapping[str, list[str]], source: str = "GMT") -> dict[str, dict]:
    """``name -> genes`` with up/down pairs merged (the rule of :func:`from_gmt`).

    Examples
    --------
    >>> pair_signed({"a_up": ["A"], "a_Dn": ["B"], "b": ["C"]})
    {'a': {'up': ['A'], 'down': ['B']}, 'b': {'up': ['C']}}
    """
    groups: dict[str, dict[str, list[str]]] = {}
    for name in sets:
        base, part = _signed_part(name)
        groups.setdefault(base, {"up": [], "down": []})[part].append(name)
    merged: dict[str, dict] = {}
    for base, parts in groups.items():
        if parts["up"] and parts["down"]:
            if len(parts["up"]) > 1 or len(parts["down"]) > 1:
                raise SignatureError(
                    f"{source}: gene sets {', '.join(parts['up'] + parts['down'])} all claim "
                    f"a part of signature {base!r}; rename all but one up and one down set"
                )
            merged[base] = {"up": sets[parts["up"][0]], "down": sets[parts["down"][0]]}
        else:
            merged.update({name: {"up": sets[name]} for name in parts["up"] + parts["down"]})
    return merged


def _signed_part(name: str) -> tuple[str, str]:
    """``(base name, "up" or "down")``: which part of which signature a set could be."""
    match = _SIGNED_NAME.match(name)
    if match is None:
        return name, "up"
    return match["base"], "down" if match["part"].lower() in ("dn", "down") else "up"


def resolve(spec: SignatureSpec) -> list[Signature]:
    """Turn anything ``tl.score(signatures=...)`` accepts into a list of signatures.

    ``"all"``, a library id, a GMT path, a YAML path (signatures in the library's
    schema, with their compartment and expected direction: :func:`read_yaml`), a list
    of ids/Signatures, a dict, or Signatures.

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
        elif text.lower().endswith(YAML_SUFFIXES):
            sigs = read_yaml(text)
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
