"""The :class:`Signature` data model and its validation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

from ..errors import SignatureError

COMPARTMENTS = ("tumor", "cd8_t", "cd4_t", "treg", "myeloid", "dc", "nk", "b", "any")
DIRECTIONS = ("up", "down", "mixed", "unclear")
SOURCE_TYPES = ("published", "assembled", "custom")
SPECIES = ("human", "mouse")
#: ``validation.status`` values: a positive control on real data exists, or none can be run.
VALIDATION_STATUSES = ("positive control", "none available")

_TOP_KEYS = {
    "id",
    "name",
    "version",
    "description",
    "program",
    "compartment",
    "genes",
    "mouse",
    "mouse_notes",
    "expected",
    "combination",
    "source",
    "validation",
}
_REQUIRED = _TOP_KEYS - {"mouse_notes", "validation", "combination"}
#: What a user's own signature file must give (the rest is optional): enough to score it
#: and to say where it is read and which way MEK inhibition should move it.
_USER_REQUIRED = {"id", "genes", "compartment", "expected"}
#: Signature fields holding mappings: read-only views once the signature is built.
_MAPPING_FIELDS = ("weights", "source", "mouse", "mouse_notes", "validation")


@dataclass(frozen=True)
class Evidence:
    """One piece of literature evidence for an expected direction."""

    citation: str
    finding: str
    species: str
    model: str
    direction: str
    pmid: str | None = None
    doi: str | None = None


@dataclass(frozen=True)
class Signature:
    """A gene signature with provenance and an expected direction under MEK inhibition.

    Immutable all the way down: the mappings (``weights``, ``source``, ``mouse``,
    ``mouse_notes``, ``validation``) are read-only :class:`types.MappingProxyType`
    views and their lists are tuples, so a signature shared from the bundled library
    cannot be changed by one caller for the rest of the process. Signatures hash,
    compare, copy and pickle as values.

    Parameters
    ----------
    id
        Stable identifier (``snake_case``); used as the score column name.
    up, down
        Human HGNC symbols whose expression should rise (``up``) or fall (``down``)
        when the program is active. ``down`` may be empty.
    weights
        Optional gene -> weight (positive) used by weighted methods.
    mouse
        Human symbol -> tuple of curated MGI symbols (empty tuple: no usable ortholog).
    combination, combination_evidence
        The direction expected when a MEK inhibitor is combined with checkpoint blockade,
        beyond what either agent does alone (the interaction and "combination beats both"
        contrasts of a factorial design), with its evidence; ``"unclear"`` when the
        literature states none.
    validation
        ``{"status": ..., "reason": ...}``: whether a positive control on real public data
        shows the program (``"positive control"``, see ``docs/validation.md``) or not
        (``"none available"``, with the reason). Empty when not stated.

    Examples
    --------
    >>> s = Signature.custom("my_set", up=["CD8A", "GZMB", "PRF1"])
    >>> s.genes
    ('CD8A', 'GZMB', 'PRF1')
    >>> s.source["type"]
    'custom'
    """

    id: str
    name: str
    up: tuple[str, ...]
    down: tuple[str, ...] = ()
    weights: Mapping[str, float] = field(default_factory=dict)
    version: str = "custom"
    description: str = ""
    program: str = "custom"
    compartment: str = "any"
    expected: str = "unclear"
    evidence: tuple[Evidence, ...] = ()
    combination: str = "unclear"
    combination_evidence: tuple[Evidence, ...] = ()
    source: Mapping[str, Any] = field(default_factory=lambda: {"type": "custom"})
    mouse: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    mouse_notes: Mapping[str, str] = field(default_factory=dict)
    validation: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "up", tuple(self.up))
        object.__setattr__(self, "down", tuple(self.down))
        for name in _MAPPING_FIELDS:
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    def __hash__(self) -> int:
        return hash((self.id, self.version, self.up, self.down))

    def __getstate__(self) -> dict[str, Any]:
        """Plain values for pickling (read-only mapping views cannot be pickled)."""
        return {f.name: _thawed(getattr(self, f.name)) for f in fields(self)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
        self.__post_init__()

    @property
    def genes(self) -> tuple[str, ...]:
        """All human genes, up first then down."""
        return self.up + self.down

    @property
    def is_signed(self) -> bool:
        """Whether the signature has a down part."""
        return bool(self.down)

    def for_species(
        self, species: str
    ) -> tuple[tuple[str, ...], tuple[str, ...], dict[str, float]]:
        """Return ``(up, down, weights)`` in the symbols of ``species``.

        For mouse, each human gene is replaced by its curated MGI symbols; genes
        without a mouse ortholog are dropped and duplicates keep their first place.
        A weighted gene with several mouse orthologs splits its weight equally among
        them, as PROGENy's mouse model does, so it does not count several times.

        Examples
        --------
        >>> s = Signature("s", "s", up=("A", "B"), weights={"A": 2.0, "B": 1.0},
        ...               mouse={"A": ("Aa", "Ab"), "B": ("Bb",)})
        >>> s.for_species("mouse")
        (('Aa', 'Ab', 'Bb'), (), {'Aa': 1.0, 'Ab': 1.0, 'Bb': 1.0})
        """
        if species == "human" or not self.mouse:
            return self.up, self.down, dict(self.weights)
        if species != "mouse":
            raise SignatureError(f"unknown species {species!r}; use one of {SPECIES}")
        seen: set[str] = set()
        weights: dict[str, float] = {}

        def translate(genes: tuple[str, ...]) -> tuple[str, ...]:
            out = []
            for gene in genes:
                for m in self.mouse.get(gene, ()):
                    if m not in seen:
                        seen.add(m)
                        out.append(m)
                        if gene in self.weights:
                            weights[m] = self.weights[gene] / len(self.mouse[gene])
            return tuple(out)

        return translate(self.up), translate(self.down), weights

    @classmethod
    def custom(
        cls,
        name: str,
        up: list[str] | tuple[str, ...],
        down: list[str] | tuple[str, ...] = (),
        weights: dict[str, float] | None = None,
    ) -> Signature:
        """Build a user signature without curated metadata."""
        sig = cls(
            id=name,
            name=name,
            up=tuple(str(g).strip() for g in up if str(g).strip()),
            down=tuple(str(g).strip() for g in down if str(g).strip()),
            weights=dict(weights or {}),
        )
        _check_genes(sig.id, sig.up, sig.down, sig.weights)
        return sig

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, library: bool = True) -> Signature:
        """Build and validate a signature from its YAML mapping (the library's schema).

        ``library=False`` reads a user's own signature in the same schema: only ``id``,
        ``genes``, ``compartment`` and ``expected`` are required, ``source.type`` may be
        ``custom`` (without a DOI), a direction of ``unclear`` needs no evidence, and
        without a ``mouse`` map the genes are matched as given in mouse data.

        Examples
        --------
        >>> s = Signature.from_dict({"id": "ifn_up", "genes": {"up": ["STAT1", "IRF1"]},
        ...     "compartment": "tumor", "expected": {"direction": "unclear"}}, library=False)
        >>> s.compartment, s.expected, s.source["type"]
        ('tumor', 'unclear', 'custom')
        """
        if not isinstance(data, Mapping):
            raise SignatureError(f"a signature is a mapping of keys, not {type(data).__name__}")
        sid = data.get("id", "<no id>")
        unknown = set(data) - _TOP_KEYS
        if unknown:
            raise SignatureError(f"{sid}: unknown keys {sorted(unknown)}")
        missing = (_REQUIRED if library else _USER_REQUIRED) - set(data)
        if missing:
            raise SignatureError(f"{sid}: missing keys {sorted(missing)}")
        genes = _mapping(sid, "genes", data["genes"], {"up", "down", "weights"}, {"up"})
        up = tuple(str(g) for g in genes["up"] or ())
        down = tuple(str(g) for g in genes.get("down") or ())
        weights = {str(k): float(v) for k, v in (genes.get("weights") or {}).items()}
        _check_genes(sid, up, down, weights)
        if data["compartment"] not in COMPARTMENTS:
            raise SignatureError(f"{sid}: compartment must be one of {COMPARTMENTS}")
        direction, evidence = _expected(sid, data["expected"], library=library)
        combination = data.get("combination") or {"direction": "unclear"}
        combined, combined_evidence = _expected(sid, combination, library=False)
        mouse = _mouse_map(sid, data.get("mouse"), up + down, library=library)
        return cls(
            id=str(data["id"]),
            name=str(data.get("name", data["id"])),
            up=up,
            down=down,
            weights=weights,
            version=str(data.get("version", "custom")),
            description=str(data.get("description", "")).strip(),
            program=str(data.get("program", "custom")),
            compartment=data["compartment"],
            expected=direction,
            evidence=evidence,
            combination=combined,
            combination_evidence=combined_evidence,
            source=_source(sid, data.get("source", {"type": "custom"}), library=library),
            mouse=mouse,
            mouse_notes={str(k): str(v) for k, v in (data.get("mouse_notes") or {}).items()},
            validation=_validation(sid, data.get("validation")),
        )

    def to_dict(self) -> dict[str, Any]:
        """The signature as the YAML mapping :meth:`from_dict` reads (plain lists and dicts).

        Examples
        --------
        >>> s = Signature.custom("x", up=["A"], down=["B"], weights={"A": 2.0})
        >>> Signature.from_dict(s.to_dict(), library=False) == s
        True
        """
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "program": self.program,
            "compartment": self.compartment,
            "genes": {
                "up": list(self.up),
                "down": list(self.down),
                "weights": dict(self.weights),
            },
            "expected": {
                "direction": self.expected,
                "evidence": [
                    {k: v for k, v in vars(e).items() if v is not None} for e in self.evidence
                ],
            },
            "source": _thawed(self.source),
        }
        if self.combination != "unclear" or self.combination_evidence:
            out["combination"] = {
                "direction": self.combination,
                "evidence": [
                    {k: v for k, v in vars(e).items() if v is not None}
                    for e in self.combination_evidence
                ],
            }
        if self.mouse:
            out["mouse"] = {g: list(m) or None for g, m in self.mouse.items()}
        if self.mouse_notes:
            out["mouse_notes"] = dict(self.mouse_notes)
        if self.validation:
            out["validation"] = dict(self.validation)
        return out


def _frozen(value: Any) -> Any:
    """``value`` with every mapping a read-only view and every list a tuple, recursively."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return value


def _thawed(value: Any) -> Any:
    """The inverse of :func:`_frozen` for mappings: plain dicts, recursively."""
    if isinstance(value, Mapping):
        return {k: _thawed(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_thawed(v) for v in value)
    return value


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _mapping(sid: str, key: str, value: Any, allowed: set[str], required: set[str] | None):
    if not isinstance(value, dict):
        raise SignatureError(f"{sid}: {key} must be a mapping")
    unknown = set(value) - allowed
    if unknown:
        raise SignatureError(f"{sid}: unknown keys in {key}: {sorted(unknown)}")
    missing = (allowed if required is None else required) - set(value)
    if missing:
        raise SignatureError(f"{sid}: missing keys in {key}: {sorted(missing)}")
    return value


def _expected(sid: str, value: Any, *, library: bool) -> tuple[str, tuple[Evidence, ...]]:
    """The expected direction and its evidence; a user's ``unclear`` may cite none."""
    expected = _mapping(sid, "expected", value, {"direction", "evidence"}, {"direction"})
    if expected["direction"] not in DIRECTIONS:
        raise SignatureError(f"{sid}: expected.direction must be one of {DIRECTIONS}")
    evidence = tuple(_evidence(sid, e) for e in expected.get("evidence") or ())
    if not evidence and (library or expected["direction"] != "unclear"):
        raise SignatureError(
            f"{sid}: expected.evidence must cite at least one study for direction "
            f"{expected['direction']!r} (or set the direction to 'unclear')"
        )
    return expected["direction"], evidence


def _source(sid: str, value: Any, *, library: bool) -> dict[str, Any]:
    """The ``source`` mapping; a user's signature may be ``custom``, without a DOI."""
    allowed = {"type", "citation", "doi", "pmid", "assembled_from", "licence", "notes"}
    source = _mapping(sid, "source", value, allowed, {"type", "citation"} if library else {"type"})
    types = SOURCE_TYPES[:2] if library else SOURCE_TYPES
    if source["type"] not in types:
        raise SignatureError(f"{sid}: source.type must be one of {types}")
    if source["type"] == "assembled" and not source.get("assembled_from"):
        raise SignatureError(f"{sid}: an assembled signature must say assembled_from")
    if source["type"] != "custom" and not (source.get("doi") or source.get("pmid")):
        raise SignatureError(f"{sid}: source needs a doi or pmid")
    return dict(source)


def _mouse_map(sid: str, value: Any, genes: tuple[str, ...], *, library: bool):
    """Human gene -> curated mouse symbols; every gene, or (a user's) none at all."""
    mouse = {str(k): _as_tuple(v) for k, v in (value or {}).items()}
    absent = [g for g in genes if g not in mouse]
    if absent and (library or mouse):
        raise SignatureError(f"{sid}: mouse symbol missing for {absent} (use null if none)")
    extra = set(mouse) - set(genes)
    if extra:
        raise SignatureError(f"{sid}: mouse map names genes not in the signature: {extra}")
    return mouse


def _validation(sid: str, value: Any) -> dict[str, str]:
    """The optional ``validation`` mapping: a known status and a one-line reason."""
    if value is None:
        return {}
    v = _mapping(sid, "validation", value, {"status", "reason"}, None)
    if v["status"] not in VALIDATION_STATUSES:
        raise SignatureError(f"{sid}: validation.status must be one of {VALIDATION_STATUSES}")
    reason = " ".join(str(v["reason"] or "").split())
    if not reason:
        raise SignatureError(f"{sid}: validation.reason must say why, in one line")
    return {"status": v["status"], "reason": reason}


def _evidence(sid: str, entry: Any) -> Evidence:
    fields = {"citation", "finding", "species", "model", "direction", "pmid", "doi"}
    e = _mapping(
        sid, "evidence", entry, fields, {"citation", "finding", "species", "model", "direction"}
    )
    if not (e.get("pmid") or e.get("doi")):
        raise SignatureError(f"{sid}: evidence {e['citation']!r} needs a pmid or doi")
    if e["direction"] not in DIRECTIONS:
        raise SignatureError(f"{sid}: evidence direction must be one of {DIRECTIONS}")
    return Evidence(**{k: (None if v is None else str(v)) for k, v in e.items()})


def _check_genes(sid: str, up, down, weights) -> None:
    if not up and not down:
        raise SignatureError(f"{sid}: a signature needs at least one gene")
    genes = list(up) + list(down)
    dup = sorted({g for g in genes if genes.count(g) > 1})
    if dup:
        raise SignatureError(f"{sid}: duplicated genes {dup}")
    stray = set(weights) - set(genes)
    if stray:
        raise SignatureError(f"{sid}: weights for genes not in the signature: {sorted(stray)}")
    if any(w <= 0 for w in weights.values()):
        raise SignatureError(f"{sid}: weights must be positive (put negative genes in 'down')")
