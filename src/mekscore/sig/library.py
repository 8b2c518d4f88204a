"""Load, list and select the bundled signature library."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

import pandas as pd
import yaml

from .model import COMPARTMENTS, Signature, SignatureError


def library_dir() -> Path:
    """Folder holding the bundled signature files.

    The wheel ships them as ``mekscore/_library``; in a source checkout they are
    read from the repository's top-level ``signatures/``.
    """
    packaged = Path(str(resources.files("mekscore"))) / "_library"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[3] / "signatures"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError("mekscore's signature library is missing; reinstall the package")


@cache
def _load_all() -> dict[str, Signature]:
    sigs: dict[str, Signature] = {}
    for path in sorted(library_dir().glob("*.yaml")):
        with path.open(encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
        try:
            sig = Signature.from_dict(data)
        except SignatureError as err:
            raise SignatureError(f"{path.name}: {err}") from None
        if sig.id != path.stem:
            raise SignatureError(f"{path.name}: id {sig.id!r} must equal the file name")
        sigs[sig.id] = sig
    return sigs


def load_library() -> dict[str, Signature]:
    """Return all bundled signatures, keyed by id.

    Examples
    --------
    >>> lib = load_library()
    >>> "mapk_output_mpas" in lib
    True
    """
    return dict(_load_all())


def list_ids() -> list[str]:
    """Ids of the bundled signatures, sorted."""
    return sorted(_load_all())


def get(sig_id: str) -> Signature:
    """Return one bundled signature by id.

    Examples
    --------
    >>> get("mapk_output_mpas").compartment
    'tumor'
    """
    lib = _load_all()
    if sig_id not in lib:
        from ..errors import InputError

        raise InputError(
            f"unknown signature id {sig_id!r}; run `mekscore signatures list` "
            f"(known: {', '.join(sorted(lib))})"
        )
    return lib[sig_id]


def select(
    *, program: str | None = None, compartment: str | None = None, expected: str | None = None
) -> list[Signature]:
    """Select bundled signatures by program, compartment and/or expected direction.

    Examples
    --------
    >>> [s.id for s in select(compartment="tumor")][:1]
    ['checkpoint_ligands']
    """
    if compartment is not None and compartment not in COMPARTMENTS:
        from ..errors import InputError

        raise InputError(f"unknown compartment {compartment!r}; use one of {COMPARTMENTS}")
    out = []
    for sig in _load_all().values():
        if program is not None and sig.program != program:
            continue
        if compartment is not None and sig.compartment != compartment:
            continue
        if expected is not None and sig.expected != expected:
            continue
        out.append(sig)
    return sorted(out, key=lambda s: s.id)


def summary_table(signatures: list[Signature] | None = None) -> pd.DataFrame:
    """One row per signature: id, name, program, compartment, expected, n genes, source.

    Examples
    --------
    >>> summary_table().columns[:3].tolist()
    ['id', 'name', 'program']
    """
    sigs = list(_load_all().values()) if signatures is None else signatures
    rows = [
        {
            "id": s.id,
            "name": s.name,
            "program": s.program,
            "compartment": s.compartment,
            "expected": s.expected,
            "n_up": len(s.up),
            "n_down": len(s.down),
            "source": s.source.get("type", "custom"),
            "citation": s.source.get("citation", ""),
            "version": s.version,
        }
        for s in sigs
    ]
    return pd.DataFrame(rows).sort_values("id", ignore_index=True)
