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


LINEAGES = ("immune", "tumour", "stromal")
"""Lineages of the marker sets: leukocytes, tumour-cell lineages, other non-immune cells."""


@dataclass(frozen=True)
class MarkerSets:
    """Marker genes of the cell populations a bulk sample may hold.

    Attributes
    ----------
    markers
        Marker set name -> human symbols (Danaher's immune sets, then the others).
    lineage
        Marker set -> ``"immune"``, ``"tumour"`` or ``"stromal"`` (:data:`LINEAGES`).
    detected_by
        Library compartment -> the marker sets whose detection says it is there.
    proxy_for
        Library compartment -> the marker set a mixed-tissue program of that compartment
        is adjusted for.
    expectation_of
        Marker set -> library compartment whose abundance expectation it carries.
    source
        Citation, DOI and notes of Danaher's lists.
    sources
        Marker set -> its source, for the sets beyond Danaher's.

    Examples
    --------
    >>> sets = load_markers()
    >>> sets.markers["cd8_t_cells"], sets.proxy_for["myeloid"], sets.lineage["epithelial"]
    (('CD8A', 'CD8B'), 'macrophages', 'tumour')
    >>> sets.detected_by["myeloid"]
    ('macrophages', 'monocytes', 'neutrophils')
    """

    markers: dict[str, tuple[str, ...]]
    lineage: dict[str, str]
    detected_by: dict[str, tuple[str, ...]]
    proxy_for: dict[str, str]
    expectation_of: dict[str, str]
    source: dict[str, str]
    sources: dict[str, str]

    def of_lineage(self, lineage: str) -> tuple[str, ...]:
        """The marker sets of one lineage, in file order."""
        return tuple(name for name, kind in self.lineage.items() if kind == lineage)


_MARKER_KEYS = {"source", "markers", "more_markers", "detected_by", "proxy_for", "expectation_of"}


@cache
def load_markers() -> MarkerSets:
    """The bulk marker sets (``signatures/abundance/markers.yaml``), validated."""
    with (library_dir() / "abundance" / MARKERS_FILE).open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    _mapping("markers.yaml", "file", data, _MARKER_KEYS, _MARKER_KEYS)
    source = _mapping(
        "markers.yaml",
        "source",
        data["source"],
        {"citation", "doi", "type", "notes"},
        {"citation", "doi"},
    )
    markers = {str(k): tuple(map(str, v)) for k, v in data["markers"].items()}
    lineage = dict.fromkeys(markers, "immune")
    sources = {}
    for name, entry in data["more_markers"].items():
        keys = {"lineage", "genes", "source"}
        entry = _mapping(f"markers.yaml: {name}", "entry", entry, keys, keys)
        if entry["lineage"] not in LINEAGES or name in markers:
            raise SignatureError(f"markers.yaml: {name} repeats a set or names no lineage")
        markers[str(name)] = tuple(map(str, entry["genes"]))
        lineage[str(name)] = entry["lineage"]
        sources[str(name)] = " ".join(str(entry["source"]).split())
    detected_by = {k: tuple(v) for k, v in data["detected_by"].items()}
    _check_tables(markers, detected_by, data["proxy_for"], data["expectation_of"])
    return MarkerSets(
        markers=markers,
        lineage=lineage,
        detected_by=detected_by,
        proxy_for=dict(data["proxy_for"]),
        expectation_of=dict(data["expectation_of"]),
        source={k: " ".join(str(v).split()) for k, v in source.items()},
        sources=sources,
    )


def _check_tables(markers, detected_by, proxy_for, expectation_of) -> None:
    """Every compartment is a library compartment and every set a marker set."""
    pairs = [(c, s) for c, sets in detected_by.items() for s in sets]
    pairs += list(proxy_for.items()) + [(c, s) for s, c in expectation_of.items()]
    unknown = {c for c, _ in pairs if c not in COMPARTMENTS}
    unknown |= {s for _, s in pairs if s not in markers}
    if unknown:
        raise SignatureError(f"markers.yaml names unknown compartments or sets {sorted(unknown)}")
    undetectable = sorted(c for c, s in proxy_for.items() if s not in detected_by.get(c, ()))
    if undetectable:
        raise SignatureError(f"markers.yaml: proxy_for sets not in detected_by for {undetectable}")
