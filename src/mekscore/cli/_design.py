"""The study design from ``mekscore compare``'s options: arms, agents, covariates, time, formula.

Each option is text a shell can hold; this module reads it into the keywords of
:class:`mekscore.tl.Design`. Nothing here imports the numerical stack.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def parse_arms(text: str | None) -> dict[str, list[str]] | None:
    """``"cobi=MEKi;aPDL1=ICI;combo=MEKi+ICI"`` -> arm -> agents (``-`` or empty: none).

    Examples
    --------
    >>> parse_arms("cobi=MEKi; combo=MEKi+anti-PD-L1; vehicle=-")
    {'cobi': ['MEKi'], 'combo': ['MEKi', 'anti-PD-L1'], 'vehicle': []}
    """
    from ..errors import InputError

    if text is None:
        return None
    arms: dict[str, list[str]] = {}
    for entry in _entries(text):
        arm, sep, agents = (part.strip() for part in entry.partition("="))
        if not sep or not arm:
            raise InputError(
                f"--arms entry {entry!r} is not ARM=AGENT[+AGENT...]; e.g. "
                '"cobi=MEKi;aPDL1=ICI;combo=MEKi+ICI"'
            )
        if arm in arms:
            raise InputError(f"--arms names arm {arm!r} twice; list its agents once")
        arms[arm] = [a.strip() for a in agents.split("+") if a.strip() and a.strip() != "-"]
    return arms


def parse_classes(text: str | None) -> dict[str, str] | None:
    """``"LGX818=mapk_inhibitor;drug7=mek_inhibitor"`` -> agent -> class.

    Examples
    --------
    >>> parse_classes("LGX818=mapk_inhibitor")
    {'LGX818': 'mapk_inhibitor'}
    """
    from ..errors import InputError

    if text is None:
        return None
    classes = {}
    for entry in _entries(text):
        agent, sep, cls = (part.strip() for part in entry.partition("="))
        if not sep or not agent or not cls:
            raise InputError(
                f'--agent-class entry {entry!r} is not AGENT=CLASS; e.g. "LGX818=mapk_inhibitor"'
            )
        classes[agent] = cls
    return classes


def parse_contrasts(entries: Sequence[str]) -> dict[str, Any] | None:
    """``NAME=COLUMN:LEVEL-LEVEL`` or ``NAME=TERM*WEIGHT,TERM*WEIGHT`` -> named contrasts.

    The first form is a difference of two levels of a column (``arm:combo-aPDL1``); the
    second, weights on the columns of a formula's model matrix (the expert path).

    Examples
    --------
    >>> parse_contrasts(["combo_vs_aPDL1=arm:combo-aPDL1"])
    {'combo_vs_aPDL1': ('arm', 'combo', 'aPDL1')}
    >>> parse_contrasts(["mine=arm[T.combo]*1, arm[T.cobi]*-1"])
    {'mine': {'arm[T.combo]': 1.0, 'arm[T.cobi]': -1.0}}
    """
    from ..errors import InputError

    if not entries:
        return None
    contrasts: dict[str, Any] = {}
    for entry in entries:
        name, sep, spec = (part.strip() for part in entry.partition("="))
        if not sep or not name or not spec:
            raise InputError(
                f"--contrast {entry!r} is not NAME=COLUMN:LEVEL-LEVEL or "
                "NAME=TERM*WEIGHT[,TERM*WEIGHT...]; e.g. combo_vs_aPDL1=arm:combo-aPDL1"
            )
        if name in contrasts:
            raise InputError(f"--contrast names {name!r} twice; give each contrast once")
        contrasts[name] = _weights(spec, entry) if "*" in spec else _levels(spec, entry)
    return contrasts


def design_keywords(options: Mapping[str, Any]) -> dict[str, Any]:
    """The :class:`mekscore.tl.Design` keywords the command's options state (unset left out).

    Examples
    --------
    >>> design_keywords({"condition_key": "arm", "control": "vehicle", "treated": ("cobi",),
    ...     "arms": None, "covariates": ("batch",), "contrasts": ()})
    {'condition_key': 'arm', 'control': 'vehicle', 'treated': ('cobi',), 'covariates': ('batch',)}
    """
    keywords = {
        "condition_key": options.get("condition_key"),
        "control": options.get("control"),
        "treated": tuple(options.get("treated") or ()) or None,
        "agents": parse_arms(options.get("arms")),
        "agent_classes": parse_classes(options.get("agent_classes")),
        "covariates": tuple(options.get("covariates") or ()),
        "pair_key": options.get("pair_key"),
        "subject_key": options.get("subject_key"),
        "time_key": options.get("time_key"),
        "baseline": options.get("baseline"),
        "between_key": options.get("between_key"),
        "formula": options.get("formula"),
        "contrasts": parse_contrasts(options.get("contrasts") or ()),
    }
    return {k: v for k, v in keywords.items() if v is not None and v != ()}


def _entries(text: str) -> list[str]:
    return [e.strip() for e in text.split(";") if e.strip()]


def _levels(spec: str, entry: str) -> tuple[str, str, str]:
    from ..errors import InputError

    column, sep, levels = spec.partition(":")
    num, dash, den = levels.partition("-")
    if not (sep and dash and column.strip() and num.strip() and den.strip()):
        raise InputError(
            f"--contrast {entry!r}: write a difference of two levels as "
            "NAME=COLUMN:LEVEL-LEVEL, e.g. combo_vs_aPDL1=arm:combo-aPDL1"
        )
    return column.strip(), num.strip(), den.strip()


def _weights(spec: str, entry: str) -> dict[str, float]:
    from ..errors import InputError

    weights = {}
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        term, star, weight = part.rpartition("*")
        try:
            weights[term.strip()] = float(weight)
        except ValueError:
            raise InputError(
                f"--contrast {entry!r}: {part!r} is not TERM*WEIGHT (a number after '*')"
            ) from None
        if not star or not term.strip():
            raise InputError(f"--contrast {entry!r}: {part!r} is not TERM*WEIGHT")
    return weights
