"""What each agent of a study arm is, and what it does to MAPK output.

An arm is declared by what it contains (``{"combo": ["MEKi", "anti-PD-L1"]}``); each
agent falls in one class:

``mek_inhibitor``
    MEK inhibitors (trametinib, cobimetinib, selumetinib, binimetinib, PD0325901, ...).
``mapk_inhibitor``
    Other inhibitors of the pathway: RAF (encorafenib/LGX818, dabrafenib, vemurafenib),
    ERK (ulixertinib, ravoxertinib), KRAS-G12C (sotorasib, adagrasib), SHP2.
``mapk_activator``
    Oncogenic drivers that raise MAPK output (BRAF-V600E, KRAS-G12D/G12C, NRAS-Q61...,
    MEK1-DD).
``checkpoint``
    Immune-checkpoint antibodies (anti-PD-1, anti-PD-L1, anti-CTLA-4, pembrolizumab, ...).
``other``
    Anything else (chemotherapy, vehicle components, unknown names).

Names are matched case- and punctuation-insensitively (``"anti-PD-L1"``, ``"aPDL1"``
and ``"α-PD-L1"`` are one name). A design overrides or extends the vocabulary with
``agent_classes={"LGX818": "mapk_inhibitor"}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from ..errors import InputError

CLASSES = ("mek_inhibitor", "mapk_inhibitor", "mapk_activator", "checkpoint", "other")
MAPK_OUTPUT = {
    "mek_inhibitor": "down",
    "mapk_inhibitor": "down",
    "mapk_activator": "up",
    "checkpoint": "none",
    "other": "unknown",
}
"""Each class's expected effect on MAPK output in tumour cells."""

_NAMES = {
    "mek_inhibitor": (
        "meki mek mekinhibitor trametinib gsk1120212 mekinist cobimetinib cobi gdc0973 cotellic "
        "selumetinib azd6244 arry142886 binimetinib mek162 arry162 pd0325901 pd901 mirdametinib "
        "pimasertib as703026 refametinib bay869766 avutometinib vs6766 ro5126766 tak733 "
        "e6201 u0126 pd98059 cl1040 pd184352"
    ),
    "mapk_inhibitor": (
        "brafi rafi brafinhibitor rafinhibitor erki erkinhibitor mapki encorafenib lgx818 "
        "dabrafenib gsk2118436 vemurafenib plx4032 plx4720 lifirafenib belvarafenib tovorafenib "
        "naporafenib lxh254 ulixertinib bvd523 ravoxertinib gdc0994 sch772984 temuterkib "
        "ly3214996 sotorasib amg510 adagrasib mrtx849 divarasib krasi krasg12ci shp2i tno155 "
        "rmc4550 rmc6236 daraxonrasib"
    ),
    "checkpoint": (
        "ici icb icis checkpoint checkpointinhibitor checkpointblockade antipd1 apd1 pd1 "
        "antipdl1 apdl1 pdl1 antictla4 actla4 ctla4 antilag3 alag3 antitim3 atim3 pembrolizumab "
        "nivolumab cemiplimab dostarlimab spartalizumab tislelizumab toripalimab atezolizumab "
        "durvalumab avelumab ipilimumab tremelimumab relatlimab rmp114 29f1a12 10f9g2 9h10 9d9"
    ),
}
_VOCABULARY = {name: cls for cls, names in _NAMES.items() for name in names.split()}
_ACTIVATOR = re.compile(
    r"^(braf)?v600[edkr]\w*$|^[khn]ras(g12|g13|q61|a146|k117)\w*$|^(mek1?|map2k1)(dd|ee|sdse)$"
    r"|^camek1?$"
)


def normalise_agent(name: str) -> str:
    """Lower case without punctuation, spaces or Greek letters: the key agents are matched on.

    Examples
    --------
    >>> normalise_agent("anti-PD-L1"), normalise_agent("α-PD-1"), normalise_agent("BRAF V600E")
    ('antipdl1', 'pd1', 'brafv600e')
    """
    return re.sub(r"[^0-9a-z]", "", str(name).casefold())


def agent_class(name: str, overrides: Mapping[str, str] | None = None) -> str:
    """The class of one agent (one of :data:`CLASSES`); ``overrides`` are checked first.

    Examples
    --------
    >>> agent_class("Cobimetinib"), agent_class("aPDL1"), agent_class("KRAS-G12D")
    ('mek_inhibitor', 'checkpoint', 'mapk_activator')
    >>> agent_class("LGX818"), agent_class("cisplatin")
    ('mapk_inhibitor', 'other')
    >>> agent_class("drug X", {"drug x": "mek_inhibitor"})
    'mek_inhibitor'
    """
    key = normalise_agent(name)
    own = {normalise_agent(k): v for k, v in (overrides or {}).items()}
    if key in own:
        return own[key]
    if key in _VOCABULARY:
        return _VOCABULARY[key]
    return "mapk_activator" if _ACTIVATOR.match(key) else "other"


def agent_classes(agents: Iterable[str], overrides: Mapping[str, str] | None = None) -> frozenset:
    """The set of classes of ``agents``.

    Examples
    --------
    >>> sorted(agent_classes(["trametinib", "anti-PD-1"]))
    ['checkpoint', 'mek_inhibitor']
    """
    return frozenset(agent_class(a, overrides) for a in agents)


def check_overrides(overrides: Mapping[str, str]) -> None:
    """Refuse override classes that are not in :data:`CLASSES`.

    Examples
    --------
    >>> check_overrides({"LGX818": "braf"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mekscore.errors.InputError: agent_classes['LGX818'] = 'braf' is not a class; use one of ...
    """
    for agent, cls in overrides.items():
        if cls not in CLASSES:
            raise InputError(
                f"agent_classes[{agent!r}] = {cls!r} is not a class; "
                f"use one of {', '.join(CLASSES)}"
            )


def mapk_output(classes: Iterable[str]) -> str:
    """What adding agents of ``classes`` does to MAPK output.

    ``down``, ``up``, ``none``, or ``unclear`` (an activator with an inhibitor, or an
    agent of class ``other``).

    Examples
    --------
    >>> mapk_output({"mek_inhibitor", "checkpoint"}), mapk_output({"checkpoint"})
    ('down', 'none')
    >>> mapk_output({"mapk_activator", "mapk_inhibitor"}), mapk_output(set())
    ('unclear', 'none')
    """
    effects = {MAPK_OUTPUT[c] for c in classes} - {"none"}
    if not effects:
        return "none"
    return effects.pop() if len(effects) == 1 and "unknown" not in effects else "unclear"
