"""Literature expectations for the abundance of each compartment under MEK inhibition.

One YAML file per compartment in ``signatures/abundance/``, validated like the gene
signatures: the expected direction of the compartment's share of cells, with
evidence (citation, PMID/DOI, species, model, finding) for every direction, and
``mixed``/``unclear`` where studies disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from .library import library_dir
from .model import COMPARTMENTS, DIRECTIONS, Evidence, SignatureError, _evidence, _mapping

_KEYS = {"id", "name", "compartment", "description", "expected"}
MARKERS_FILE = "markers.yaml"


@dataclass(frozen=True)
class Abundance:
    """The expected change in a compartment's share of cells, with its evidence.

    Examples
    --------
    >>> load_abundance()["cd8_t"].expected
    'up'
    """

    id: str
    name: str
    compartment: str
    description: str
    expected: str
    evidence: tuple[Evidence, ...]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Abundance:
        """Build and validate an entry from its YAML mapping."""
        aid = data.get("id", "<no id>")
        _mapping(aid, "abundance entry", data, _KEYS, _KEYS)
        if data["compartment"] not in COMPARTMENTS or data["compartment"] == "any":
            raise SignatureError(f"{aid}: compartment must be one of {COMPARTMENTS[:-1]}")
        expected = _mapping(aid, "expected", data["expected"], {"direction", "evidence"}, None)
        if expected["direction"] not in DIRECTIONS:
            raise SignatureError(f"{aid}: expected.direction must be one of {DIRECTIONS}")
        evidence = tuple(_evidence(aid, e) for e in expected["evidence"] or ())
        if not evidence:
            raise SignatureError(f"{aid}: expected.evidence must cite at least one study")
        if expected["direction"] in ("up", "down") and not any(
            e.direction == expected["direction"] for e in evidence
        ):
            raise SignatureError(f"{aid}: no evidence supports the expected direction")
        return cls(
            id=str(data["id"]),
            name=str(data["name"]),
            compartment=data["compartment"],
            description=" ".join(str(data["description"]).split()),
            expected=expected["direction"],
            evidence=evidence,
        )


@cache
def load_abundance() -> dict[str, Abundance]:
    """Compartment -> :class:`Abundance`, from ``signatures/abundance/*.yaml`` (loaded once)."""
    entries: dict[str, Abundance] = {}
    for path in sorted((library_dir() / "abundance").glob("*.yaml")):
        if path.name == MARKERS_FILE:
            continue
        with path.open(encoding="utf-8") as fh:
            entry = Abundance.from_dict(yaml.safe_load(fh))
        if entry.compartment in entries:
            raise SignatureError(f"{path.name}: a second entry for {entry.compartment!r}")
        entries[entry.compartment] = entry
    return entries


@dataclass(frozen=True)
class MarkerSets:
    """Marker genes that proxy each cell population's abundance in bulk data.

    Attributes
    ----------
    markers
        Marker set name -> human symbols.
    proxy_for
        Library compartment -> the marker set a bulk program of that compartment is
        adjusted for (and whose detection decides whether the compartment is there).
    expectation_of
        Marker set -> library compartment whose abundance expectation it carries.
    source
        Citation, DOI and notes of the marker lists.

    Examples
    --------
    >>> sets = load_markers()
    >>> sets.markers["cd8_t_cells"], sets.proxy_for["myeloid"]
    (('CD8A', 'CD8B'), 'macrophages')
    """

    markers: dict[str, tuple[str, ...]]
    proxy_for: dict[str, str]
    expectation_of: dict[str, str]
    source: dict[str, str]


@cache
def load_markers() -> MarkerSets:
    """The bulk abundance marker sets (``signatures/abundance/markers.yaml``), validated."""
    with (library_dir() / "abundance" / MARKERS_FILE).open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    keys = {"source", "markers", "proxy_for", "expectation_of"}
    _mapping("markers.yaml", "file", data, keys, keys)
    source = _mapping("markers.yaml", "source", data["source"],
                      {"citation", "doi", "type", "notes"}, {"citation", "doi"})  # fmt: skip
    markers = {str(k): tuple(map(str, v)) for k, v in data["markers"].items()}
    for name, table in (
        ("proxy_for", data["proxy_for"]),
        ("expectation_of", data["expectation_of"]),
    ):
        compartments = table.keys() if name == "proxy_for" else table.values()
        sets = table.values() if name == "proxy_for" else table.keys()
        unknown = [c for c in compartments if c not in COMPARTMENTS] + [
            s for s in sets if s not in markers
        ]
        if unknown:
            raise SignatureError(f"markers.yaml: {name} names unknown entries {unknown}")
    return MarkerSets(
        markers=markers,
        proxy_for=dict(data["proxy_for"]),
        expectation_of=dict(data["expectation_of"]),
        source={k: " ".join(str(v).split()) for k, v in source.items()},
    )
