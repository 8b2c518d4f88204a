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
        with path.open(encoding="utf-8") as fh:
            entry = Abundance.from_dict(yaml.safe_load(fh))
        if entry.compartment in entries:
            raise SignatureError(f"{path.name}: a second entry for {entry.compartment!r}")
        entries[entry.compartment] = entry
    return entries
