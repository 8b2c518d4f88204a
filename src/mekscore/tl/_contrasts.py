"""Named contrasts of a design, in words, with what each one adds to its reference side.

Arms declared by their agents give, in this order:

``simple``
    each treated arm against control (``"cobi vs vehicle (MEKi)"``), then each arm
    against every arm whose agents it strictly extends (``"combo vs aPDL1 (MEKi added
    to ICI)"``);
``interaction``
    for each arm whose extra agents split into two arms A and B:
    ``AB - A - B + control`` (``"interaction MEKi x ICI (combo - cobi - aPDL1 +
    vehicle)"``); ``adds`` holds the interacting agents' classes;
``beats_both``
    "the combination beats both A and B", an intersection-union test of ``AB - A``
    and ``AB - B`` in the expected direction.

Repeated designs give ``time`` contrasts (each later time point against baseline, and
each against the time point before it) within each arm or group, and ``between``
contrasts: the difference of the changes from baseline between two arms (nested agents)
or two groups, and the groups against each other at baseline. Agents are matched by
name, case- and punctuation-insensitively; write the same agent the same way in every
arm. Without ``agents`` every treated arm (or later time point) is read as containing a
MEK inhibitor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from ..errors import InputError
from ._agents import agent_classes, normalise_agent
from ._designspec import Design, contrast_form

Cell = tuple[str, str]  # (between level, within level); "" where the design has no such factor
IMPLIED = "MEK inhibitor (implied)"


@dataclass(frozen=True)
class NamedContrast:
    """One question the design answers.

    Attributes
    ----------
    name
        Short identifier, e.g. ``combo_vs_aPDL1``.
    words
        The question in plain English, e.g. ``"combo vs aPDL1 (MEKi added to ICI)"``.
    kind
        ``simple``, ``interaction``, ``beats_both``, ``time``, ``between`` or ``custom``.
    adds, removes, background
        Agent classes (:data:`mekscore.tl._agents.CLASSES`) the contrast adds to its
        reference side, takes away from it, and has on both sides. For an interaction,
        ``adds`` holds the classes of the interacting agents.
    agents_added, agents_background
        The same as agent names, as the design wrote them.
    levels
        The arms, groups or time points involved (positive side first).
    cells
        Weights on cell means, ``(between level, within level) -> weight``.
    vector
        Weights on model-matrix columns (formula designs).
    parts
        The two gaps of a ``beats_both`` contrast (combination minus each arm).
    """

    name: str
    words: str
    kind: str
    adds: frozenset = frozenset()
    removes: frozenset = frozenset()
    background: frozenset = frozenset()
    agents_added: tuple[str, ...] = ()
    agents_background: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    cells: Mapping[Cell, float] = field(default_factory=dict)
    vector: tuple[float, ...] = ()
    parts: tuple[Mapping[Cell, float], ...] = ()


@dataclass(frozen=True)
class Agents:
    """What each level contains: ``level -> agent names``; ``implied`` if the design gave none."""

    names: Mapping[str, tuple[str, ...]]
    overrides: Mapping[str, str]
    implied: bool

    @classmethod
    def of(cls, design: Design, levels: Sequence[str], reference: str) -> Agents:
        """From ``design.agents``, or every level but ``reference`` on a MEK inhibitor."""
        overrides = dict(design.agent_classes or {})
        if design.agents is not None:
            return cls(
                {lv: tuple(design.agents.get(lv, ())) for lv in levels}, overrides, implied=False
            )
        names = {lv: () if lv == reference else (IMPLIED,) for lv in levels}
        return cls(names, overrides | {IMPLIED: "mek_inhibitor"}, implied=True)

    def keys(self, level: str) -> frozenset:
        return frozenset(normalise_agent(a) for a in self.names[level])

    def difference(self, level: str, other: str) -> tuple[str, ...]:
        """Agents of ``level`` missing from ``other``, as written."""
        theirs = self.keys(other)
        return tuple(a for a in self.names[level] if normalise_agent(a) not in theirs)

    def common(self, level: str, other: str) -> tuple[str, ...]:
        theirs = self.keys(other)
        return tuple(a for a in self.names[level] if normalise_agent(a) in theirs)

    def classes(self, agents: Sequence[str]) -> frozenset:
        return agent_classes(agents, self.overrides)


def change(agents: Agents, numerator: str, denominator: str) -> dict:
    """The ``adds``/``removes``/``background`` fields of ``numerator`` vs ``denominator``."""
    added = agents.difference(numerator, denominator)
    removed = agents.difference(denominator, numerator)
    common = agents.common(numerator, denominator)
    return {
        "adds": agents.classes(added),
        "removes": agents.classes(removed),
        "background": agents.classes(common),
        "agents_added": added,
        "agents_background": common,
    }


def phrase(agents: Agents, numerator: str, denominator: str) -> str:
    """``" (MEKi added to ICI)"``, ``" (MEKi + ICI)"``, ``""`` for implied agents."""
    if agents.implied:
        return ""
    added = agents.difference(numerator, denominator)
    removed = agents.difference(denominator, numerator)
    common = agents.common(numerator, denominator)
    if removed:
        return f" ({' + '.join(added) or 'nothing'} instead of {' + '.join(removed)})"
    if not added:
        return " (same agents)"
    if not common:
        return f" ({' + '.join(added)})"
    return f" ({' + '.join(added)} added to {' + '.join(common)})"


# --- arms ---------------------------------------------------------------------------


def arm_contrasts(
    arms: Sequence[str], agents: Agents, cell: Callable[[str], Cell]
) -> list[NamedContrast]:
    """Simple contrasts, interactions and beats-both tests of arms (control first).

    Examples
    --------
    >>> from mekscore.tl._designspec import Design
    >>> design = Design(condition_key="arm", control="veh",
    ...                 agents={"cobi": ["MEKi"], "aPDL1": ["ICI"], "combo": ["MEKi", "ICI"]})
    >>> arms = ("veh", "cobi", "aPDL1", "combo")
    >>> out = arm_contrasts(arms, Agents.of(design, arms, "veh"), lambda a: (a, ""))
    >>> [c.words for c in out][3:6]  # doctest: +NORMALIZE_WHITESPACE
    ['combo vs cobi (ICI added to MEKi)', 'combo vs aPDL1 (MEKi added to ICI)',
     'interaction MEKi x ICI (combo - cobi - aPDL1 + veh)']
    >>> out[4].name, sorted(out[4].adds), sorted(out[4].background)
    ('combo_vs_aPDL1', ['mek_inhibitor'], ['checkpoint'])
    """
    control, treated = arms[0], arms[1:]
    out = [_simple(a, control, agents, cell) for a in treated]
    for a, b in combinations(treated, 2):
        for num, den in ((a, b), (b, a)):
            if agents.keys(den) < agents.keys(num):
                out.append(_simple(num, den, agents, cell))
    for combo, a, b in _splits(arms, agents):
        out.append(_interaction(combo, a, b, control, agents=agents, cell=cell))
        out.append(_beats_both(combo, a, b, agents, cell))
    return out


def _simple(num: str, den: str, agents: Agents, cell) -> NamedContrast:
    return NamedContrast(
        name=f"{num}_vs_{den}",
        words=f"{num} vs {den}{phrase(agents, num, den)}",
        kind="simple",
        levels=(num, den),
        cells={cell(num): 1.0, cell(den): -1.0},
        **change(agents, num, den),
    )


def _splits(arms: Sequence[str], agents: Agents):
    """``(combination, a, b)``: arms whose agents beyond control split into arms a and b."""
    control, treated = arms[0], arms[1:]
    base = agents.keys(control)
    for combo in treated:
        extra = agents.keys(combo) - base
        for a, b in combinations([x for x in treated if x != combo], 2):
            ea, eb = agents.keys(a) - base, agents.keys(b) - base
            nested = agents.keys(a) >= base and agents.keys(b) >= base
            if nested and ea and eb and not ea & eb and ea | eb == extra:
                yield combo, a, b


def _interaction(combo, a, b, control, *, agents: Agents, cell) -> NamedContrast:
    first, second = agents.difference(a, control), agents.difference(b, control)
    background = agents.names[control]
    return NamedContrast(
        name=f"interaction_{a}_{b}",
        words=(
            f"interaction {' + '.join(first)} x {' + '.join(second)} "
            f"({combo} - {a} - {b} + {control})"
        ),
        kind="interaction",
        adds=agents.classes(first + second),
        background=agents.classes(background),
        agents_added=first + second,
        agents_background=background,
        levels=(combo, a, b, control),
        cells={cell(combo): 1.0, cell(a): -1.0, cell(b): -1.0, cell(control): 1.0},
    )


def _beats_both(combo, a, b, agents: Agents, cell) -> NamedContrast:
    added = agents.difference(combo, b) + agents.difference(combo, a)  # what it adds to each
    return NamedContrast(
        name=f"{combo}_beats_{a}_and_{b}",
        words=f"{combo} beats both {a} and {b}",
        kind="beats_both",
        adds=agents.classes(added),
        agents_added=added,
        levels=(combo, a, b),
        parts=({cell(combo): 1.0, cell(a): -1.0}, {cell(combo): 1.0, cell(b): -1.0}),
    )


# --- repeated biopsies --------------------------------------------------------------


def repeated_contrasts(
    times: Sequence[str],
    between: Sequence[str],
    by: str,
    agents: Agents,
    cell: Callable[[str, str], Cell],
) -> list[NamedContrast]:
    """Time contrasts within each arm or group, and between-arm or between-group contrasts.

    ``by`` is ``"arm"`` (``between`` are arms, control first, and ``agents`` describe
    arms), ``"group"`` (a grouping such as response; ``agents`` describe time levels)
    or ``""`` (one group).

    Examples
    --------
    >>> from mekscore.tl._designspec import Design
    >>> design = Design(condition_key="arm", control="ICI", subject_key="p", time_key="t",
    ...                 baseline="pre", agents={"ICI": ["ICI"], "combo": ["ICI", "MEKi"]})
    >>> arms = ("ICI", "combo")
    >>> out = repeated_contrasts(("pre", "on"), arms, "arm", Agents.of(design, arms, "ICI"),
    ...                          lambda b, t: (b, t))
    >>> [c.words for c in out]  # doctest: +NORMALIZE_WHITESPACE
    ['on vs pre in ICI', 'on vs pre in combo',
     '(on - pre) in combo minus in ICI (MEKi added to ICI)']
    >>> sorted(out[2].adds), list(out[2].cells.values())
    (['mek_inhibitor'], [1.0, -1.0, -1.0, 1.0])
    """
    out = []
    for group in between:
        out += _time_contrasts(times, group, by, agents, cell)
    if by == "arm":
        for num, den in _nested_pairs(between, agents):
            out += [
                _change_between(t, times[0], num, den, agents=agents, cell=cell) for t in times[1:]
            ]
    elif by == "group":
        for den, num in combinations(between, 2):
            out += [
                _change_between(t, times[0], num, den, agents=None, cell=cell) for t in times[1:]
            ]
            out.append(_at_baseline(times[0], num, den, cell))
    return out


def _time_contrasts(times, group: str, by: str, agents: Agents, cell) -> list[NamedContrast]:
    out = []
    where = f" in {group}" if group else ""
    for k, t in enumerate(times[1:], start=1):
        for ref in (times[0], times[k - 1]) if k > 1 else (times[0],):
            if by == "arm":  # the arm's agents are given after baseline, not between later times
                given = agents.names[group] if ref == times[0] else ()
                background = () if ref == times[0] else agents.names[group]
                fields = {
                    "adds": agents.classes(given),
                    "background": agents.classes(background),
                    "agents_added": given,
                    "agents_background": background,
                }
                said = ""
            else:
                fields, said = change(agents, t, ref), phrase(agents, t, ref)
            out.append(
                NamedContrast(
                    name=f"{t}_vs_{ref}" + (f"_in_{group}" if group else ""),
                    words=f"{t} vs {ref}{where}{said}",
                    kind="time",
                    levels=(t, ref) + ((group,) if group else ()),
                    cells={cell(group, t): 1.0, cell(group, ref): -1.0},
                    **fields,
                )
            )
    return out


def _nested_pairs(arms: Sequence[str], agents: Agents):
    """``(arm, reference)``: each arm against control, and against arms it extends."""
    control = arms[0]
    for arm in arms[1:]:
        yield arm, control
    for a, b in combinations(arms[1:], 2):
        for num, den in ((a, b), (b, a)):
            if agents.keys(den) < agents.keys(num):
                yield num, den


def _change_between(t, base, num, den, *, agents: Agents | None, cell) -> NamedContrast:
    fields = change(agents, num, den) if agents is not None else {}
    said = phrase(agents, num, den) if agents is not None else ""
    return NamedContrast(
        name=f"{t}_vs_{base}_{num}_vs_{den}",
        words=f"({t} - {base}) in {num} minus in {den}{said}",
        kind="between",
        levels=(num, den, t, base),
        cells={cell(num, t): 1.0, cell(num, base): -1.0, cell(den, t): -1.0, cell(den, base): 1.0},
        **fields,
    )


def _at_baseline(base, num, den, cell) -> NamedContrast:
    return NamedContrast(
        name=f"{num}_vs_{den}_at_{base}",
        words=f"{num} vs {den} at {base}",
        kind="between",
        levels=(num, den, base),
        cells={cell(num, base): 1.0, cell(den, base): -1.0},
    )


# --- contrasts a user names ---------------------------------------------------------


def named_contrasts(
    specs: Mapping[str, object],
    factors: Mapping[str, Sequence[str]],
    cell_of: Callable[[Mapping[str, str]], Cell],
    agents: tuple[str, Agents] | None,
) -> list[NamedContrast]:
    """Contrasts given as ``(column, numerator, denominator)`` or weighted conditions.

    ``factors`` maps each design column to its levels; ``cell_of`` maps a condition
    (unnamed columns at their reference level) to its cell; ``agents`` is ``(column,
    Agents)`` for the column whose levels have agents.

    Examples
    --------
    >>> out = named_contrasts({"hi_vs_lo": ("dose", "hi", "lo")}, {"dose": ("0", "lo", "hi")},
    ...                       lambda c: (c.get("dose", "0"), ""), None)
    >>> out[0].words, out[0].cells
    ('hi_vs_lo: dose hi vs lo', {('hi', ''): 1.0, ('lo', ''): -1.0})
    """
    out = []
    for name, spec in specs.items():
        conditions = _conditions(name, spec, factors)
        cells: dict[Cell, float] = {}
        for weight, condition in conditions:
            key = cell_of(condition)
            cells[key] = cells.get(key, 0.0) + float(weight)
        fields, words = {}, _condition_words(conditions)
        if contrast_form(spec) == "levels":
            column, num, den = spec
            words = f"{column} {num} vs {den}"
            if agents is not None and column == agents[0]:
                fields = change(agents[1], num, den)
                words += phrase(agents[1], num, den)
        levels = tuple(dict.fromkeys(v for _, c in conditions for v in c.values()))
        words = f"{name}: {words}"
        out.append(NamedContrast(name, words, "custom", levels=levels, cells=cells, **fields))
    return out


def _conditions(name: str, spec, factors) -> list[tuple[float, dict[str, str]]]:
    if contrast_form(spec) == "levels":
        column, num, den = spec
        conditions = [(1.0, {column: num}), (-1.0, {column: den})]
    else:
        conditions = [(float(w), {str(k): str(v) for k, v in c.items()}) for w, c in spec]
    for _, condition in conditions:
        for column, level in condition.items():
            if column not in factors:
                raise InputError(
                    f"contrasts[{name!r}] names column {column!r}, which is not a factor of the "
                    f"design (factors: {', '.join(factors)}); use one of these"
                )
            if level not in factors[column]:
                raise InputError(
                    f"contrasts[{name!r}]: {level!r} is not a level of {column!r} (levels: "
                    f"{', '.join(factors[column])}); use one of these"
                )
    return conditions


def _condition_words(conditions) -> str:
    terms = []
    for weight, condition in conditions:
        label = "/".join(condition.values())
        sign = "-" if weight < 0 else "+"
        size = "" if abs(weight) == 1 else f"{abs(weight):g} "
        terms.append(f"{sign} {size}{label}")
    return " ".join(terms).removeprefix("+ ")
