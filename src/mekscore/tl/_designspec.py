"""The study design, stated once: arms and what they contain, covariates, subjects and time.

:class:`Design` is what a biologist can say about a study without writing contrast
vectors; mekscore builds the model and names each contrast in words from it. Five
shapes, all through the same fields:

two arms
    ``Design(condition_key="treatment", control="vehicle", treated="trametinib")``
    (``pair_key=`` for pre/on pairs): exactly today's :func:`mekscore.tl.compare`.
several arms
    ``treated=["low", "high"]`` or ``None`` (every other arm). Without ``agents`` every
    treated arm is read as a MEK-inhibitor arm (a dose or schedule series).
arms declared by what they contain
    ``agents={"cobi": ["MEKi"], "aPDL1": ["ICI"], "combo": ["MEKi", "ICI"]}``: each arm
    against control, each combination against the arms it extends, the interaction
    (combination - each single agent + control) and "the combination beats both".
    The control may carry background agents (e.g. a checkpoint inhibitor in every arm).
repeated biopsies
    ``subject_key="patient", time_key="timepoint", baseline="pre"`` with either
    ``condition_key`` (randomised arms, constant within a subject) or ``between_key``
    (a grouping such as response), never both. In a single-arm study ``agents`` maps
    the time levels (``{"on": ["MEKi", "ICI"]}``); by default every later time point is
    on a MEK inhibitor.
the expert path
    ``formula="~ arm * time + batch"`` (a Wilkinson formula on sample-level ``obs``
    columns; ``subject_key`` adds a random intercept per subject) with named
    ``contrasts``.

Contrasts a user names (``contrasts=``) are written without vectors where possible:

* ``("arm", "combo", "aPDL1")``: level ``combo`` minus level ``aPDL1`` of ``arm``;
* ``[(1, {"arm": "combo", "time": "on"}), (-1, {"arm": "combo", "time": "pre"})]``:
  a weighted sum of conditions (unnamed variables at their reference level);
* ``{"arm[T.combo]": 1.0}`` or ``[0, 1, 0, 0]``: weights on model-matrix columns
  (formula path only; the last resort).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from ..errors import InputError
from ._agents import check_overrides

ContrastSpec = (
    tuple[str, str, str] | Sequence[tuple[float, Mapping[str, str]]] | Mapping[str, float]
)


@dataclass(frozen=True, kw_only=True)
class Design:
    """A study design: what was compared, and what each arm contains.

    Parameters
    ----------
    condition_key
        ``obs`` column of the arm (treatment) of each sample.
    control
        The control arm's label (the reference of every arm contrast).
    treated
        One treated arm, several, or ``None`` (the arms named in ``agents``, else every
        arm other than ``control`` found in the data).
    agents
        Arm -> the agents it contains, e.g. ``{"combo": ["cobimetinib", "anti-PD-L1"]}``.
        Names are read case- and punctuation-insensitively into MEK inhibitors
        (``MEKi``, trametinib, cobimetinib, selumetinib, binimetinib, ...), other
        MAPK-pathway inhibitors (RAF, ERK, KRAS-G12C: ``LGX818``, dabrafenib, ...), MAPK
        activators (``BRAF-V600E``, ``KRAS-G12D``, ...) and checkpoint inhibitors
        (``ICI``, ``anti-PD-1``, ``aPDL1``, pembrolizumab, ...). Without it every treated
        arm is a MEK-inhibitor arm. In a single-arm repeated design, time level -> agents.
    agent_classes
        Agent name -> class, for agents the vocabulary does not know
        (``{"drug-7": "mek_inhibitor"}``).
    covariates
        ``obs`` columns constant within a sample (batch, sex, genotype, site); each
        contrast is adjusted for them (least squares, exact t).
    pair_key
        ``obs`` column of the pair or block: arms compared within it (paired t), blocks
        lacking an arm left out of that arm's contrasts.
    subject_key, time_key, baseline
        Repeated biopsies: the subject, the time point and its untreated level.
        Subjects with every time point a contrast needs give within-subject
        differences; otherwise a random intercept per subject (REML, Satterthwaite df).
    between_key
        ``obs`` column of a between-subject grouping that is not a treatment (response).
    formula, contrasts
        The expert path: a right-hand-side formula on sample-level ``obs`` columns
        (``"~ arm * time + batch"``; the first level of a categorical column, or the
        ``control``/``baseline``, is the reference) and the contrasts to test, by name:
        ``("arm", "combo", "aPDL1")`` (level ``combo`` minus level ``aPDL1``);
        ``[(1, {"arm": "combo", "time": "on"}), (-1, {"arm": "combo", "time": "pre"})]``
        (a weighted sum of conditions); with ``formula`` only, ``{"arm[T.combo]": 1.0}``
        or a vector of weights on the model-matrix columns. ``contrasts`` without
        ``formula`` replaces the contrasts built from the arms. With ``formula``,
        ``condition_key``, ``control`` and ``agents`` say what the arm column's levels
        contain, so level contrasts of it get their expected directions.

    Examples
    --------
    >>> d = Design(condition_key="arm", control="vehicle",
    ...            agents={"cobi": ["MEKi"], "aPDL1": ["ICI"], "combo": ["MEKi", "ICI"]})
    >>> d.treated, d.kind
    (('cobi', 'aPDL1', 'combo'), 'arms')
    >>> Design(condition_key="arm", control="vehicle", treated="vehicle")
    Traceback (most recent call last):
    ...
    mekscore.errors.InputError: control 'vehicle' is also a treated arm; pass two different labels
    """

    condition_key: str | None = None
    control: str | None = None
    treated: str | Sequence[str] | None = None
    agents: Mapping[str, Sequence[str]] | None = None
    agent_classes: Mapping[str, str] | None = None
    covariates: Sequence[str] = ()
    pair_key: str | None = None
    subject_key: str | None = None
    time_key: str | None = None
    baseline: str | None = None
    between_key: str | None = None
    formula: str | None = None
    contrasts: Mapping[str, ContrastSpec] | None = field(default=None)

    def __post_init__(self) -> None:
        self._normalise()
        _check_keys(self)
        if self.formula is not None:
            _check_formula(self)
        elif self.time_key is not None:
            _check_repeated(self)
        else:
            _check_arms(self)
        check_overrides(self.agent_classes or {})
        for name, spec in (self.contrasts or {}).items():
            check_contrast_spec(name, spec, formula=self.formula is not None)

    @classmethod
    def two_arm(
        cls, *, condition_key: str, control: str, treated: str, pair_key: str | None = None
    ) -> Design:
        """Today's comparison: one control and one treated arm, optionally paired.

        Examples
        --------
        >>> Design.two_arm(condition_key="c", control="v", treated="t").kind
        'two-arm'
        """
        return cls(condition_key=condition_key, control=control, treated=treated, pair_key=pair_key)

    def to_dict(self) -> dict:
        """The fields as plain lists and dicts (for ``adata.uns``), unset fields left out.

        Examples
        --------
        >>> Design(condition_key="arm", control="v", agents={"m": ["MEKi"]}).to_dict()
        {'condition_key': 'arm', 'control': 'v', 'treated': ['m'], 'agents': {'m': ['MEKi']}}
        """
        out = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if value is None or value == ():
                continue
            out[name] = _plain(value)
        return out

    @property
    def kind(self) -> str:
        """``two-arm`` (one treated arm, paired or not), ``arms``, ``repeated`` or ``formula``."""
        if self.formula is not None:
            return "formula"
        if self.time_key is not None:
            return "repeated"
        if self.treated is not None and len(self.treated) == 1:
            return "two-arm"
        return "arms"

    @property
    def keys(self) -> tuple[str, ...]:
        """Every ``obs`` column the design reads (the formula's variables not included)."""
        keys = (self.condition_key, self.pair_key, self.subject_key, self.time_key)
        return tuple(k for k in (*keys, self.between_key, *self.covariates) if k is not None)

    def _normalise(self) -> None:
        def put(name, value):
            object.__setattr__(self, name, value)

        for name in ("control", "baseline"):
            if getattr(self, name) is not None:
                put(name, str(getattr(self, name)))
        if self.treated is not None:
            put("treated", _strings(self.treated, "treated"))
        if isinstance(self.covariates, str):
            put("covariates", (self.covariates,))
        put("covariates", tuple(self.covariates))
        if self.agents is not None:
            agents = {str(k): _strings(v, f"agents[{k!r}]") for k, v in self.agents.items()}
            put("agents", MappingProxyType(agents))
            if self.treated is None and self.condition_key is not None and self.formula is None:
                put("treated", tuple(k for k in agents if k != self.control))
        for name in ("agent_classes", "contrasts"):
            if getattr(self, name) is not None:
                put(name, MappingProxyType(dict(getattr(self, name))))


def _plain(value):
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _strings(value, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Sequence) or not all(
        isinstance(v, str | numbers.Number) for v in value
    ):
        raise InputError(f"{what} must be a label or a list of labels, not {value!r}")
    return tuple(str(v) for v in value)


def _check_keys(design: Design) -> None:
    keys = [k for k in design.keys if k is not None]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise InputError(
            f"column(s) {', '.join(map(repr, repeated))} used for two roles (condition, pair, "
            "subject, time, between or covariate); give each role its own obs column"
        )
    if design.pair_key is not None and (design.subject_key or design.time_key):
        raise InputError(
            "pair_key is for arms compared within pairs or blocks; for repeated biopsies pass "
            "subject_key= and time_key= without pair_key"
        )
    if design.subject_key is not None and design.time_key is None and design.formula is None:
        raise InputError(
            "subject_key needs time_key= and baseline= (repeated biopsies); for arms compared "
            "within a patient or block pass pair_key= instead"
        )


def _check_arms(design: Design) -> None:
    if design.condition_key is None:
        raise InputError(
            "no arms: pass condition_key= and control= (the arms), subject_key= with time_key= "
            "(repeated biopsies), or formula= with contrasts="
        )
    if design.control is None:
        raise InputError(f"control= is missing: name the control label of {design.condition_key!r}")
    if design.between_key is not None:
        raise InputError("between_key needs time_key= and subject_key= (repeated biopsies)")
    if design.covariates and design.pair_key is not None:
        raise InputError(
            "covariates with pair_key are not supported: pairs already match their samples; "
            "use subject_key/time_key (mixed model) or formula= to adjust within pairs"
        )
    if design.treated is not None and design.control in design.treated:
        raise InputError(
            f"control {design.control!r} is also a treated arm; pass two different labels"
        )
    if design.treated is not None and len(set(design.treated)) < len(design.treated):
        raise InputError(
            f"treated lists an arm twice ({', '.join(design.treated)}); list each once"
        )
    if design.agents is not None:
        _check_agents(design.agents, (design.control, *(design.treated or ())), "arm")


def _check_repeated(design: Design) -> None:
    if design.subject_key is None:
        raise InputError("time_key needs subject_key= (the patient or animal biopsied repeatedly)")
    if design.baseline is None:
        raise InputError(f"baseline= is missing: name the untreated level of {design.time_key!r}")
    if design.condition_key is not None and design.between_key is not None:
        raise InputError(
            "pass either condition_key (arms) or between_key (e.g. response) with time_key, not "
            "both; for arm x response x time use formula= with contrasts="
        )
    if design.condition_key is not None:
        if design.control is None:
            raise InputError(
                f"control= is missing: name the reference arm of {design.condition_key!r}"
            )
        if design.agents is not None:
            _check_agents(design.agents, (design.control, *(design.treated or ())), "arm")
    elif design.control is not None or design.treated is not None:
        raise InputError(
            "control/treated name arms of condition_key; in a single-arm repeated design the "
            "reference is baseline= (drop control/treated, or pass condition_key=)"
        )


def _check_agents(agents: Mapping[str, tuple[str, ...]], arms: tuple[str, ...], what: str) -> None:
    listed = set(arms[1:])
    if listed:
        missing = [a for a in listed if a not in agents]
        if missing:
            raise InputError(
                f"{what}(s) {', '.join(map(repr, sorted(missing)))} have no agents entry; add "
                "them to agents= (or drop them from treated=)"
            )
        extra = [a for a in agents if a not in listed and a != arms[0]]
        if extra:
            raise InputError(
                f"agents names {what}(s) {', '.join(map(repr, extra))} that are not in treated=; "
                "list them in treated= or drop them from agents="
            )


def _check_formula(design: Design) -> None:
    from formulaic import Formula

    if not design.contrasts:
        raise InputError(
            "formula= needs contrasts=: name each contrast, e.g. "
            "contrasts={'combo_vs_aPDL1': ('arm', 'combo', 'aPDL1')}"
        )
    if design.covariates:
        raise InputError("with formula= put covariates in the formula ('~ arm + batch')")
    if design.agents is not None and design.condition_key is None:
        raise InputError(
            "agents= describe the levels of condition_key=; with formula= pass condition_key= "
            "and control= naming the arm column of the formula (or drop agents=)"
        )
    if design.condition_key is not None and design.control is None:
        raise InputError(f"control= is missing: name the control label of {design.condition_key!r}")
    if design.pair_key or design.time_key or design.between_key or design.treated:
        raise InputError(
            "with formula= state time and groups in the formula and pass subject_key= for "
            "repeated samples; pair_key, time_key, between_key and treated do not apply"
        )
    text = str(design.formula).strip()
    if "~" in text and text.split("~")[0].strip():
        raise InputError(
            f"formula {text!r} has a left-hand side; give only the right-hand side, e.g. "
            "'~ arm + batch' (the values are each signature's sample scores)"
        )
    try:
        Formula(text)
    except Exception as error:  # formulaic raises several parser error types
        raise InputError(f"formula {text!r} cannot be parsed ({error}); fix its syntax") from None


def check_contrast_spec(name: str, spec, *, formula: bool) -> None:
    """Refuse a contrast given in none of the accepted forms (see the module docs).

    Examples
    --------
    >>> check_contrast_spec("x", ("arm", "combo", "aPDL1"), formula=True)
    >>> check_contrast_spec("x", "combo", formula=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mekscore.errors.InputError: contrasts['x'] = 'combo' is not a contrast; give ...
    """
    if not isinstance(name, str) or not name:
        raise InputError(f"contrast name {name!r} must be a non-empty string")
    form = contrast_form(spec)
    if form is None:
        raise InputError(
            f"contrasts[{name!r}] = {spec!r} is not a contrast; give (column, numerator, "
            "denominator), [(weight, {column: level}), ...], or (formula only) "
            "{model column: weight} or a vector"
        )
    if form in ("columns", "vector") and not formula:
        raise InputError(
            f"contrasts[{name!r}] gives model-matrix weights, which need formula=; give "
            "(column, numerator, denominator) or [(weight, {column: level}), ...] instead"
        )


def contrast_form(spec) -> str | None:
    """``levels``, ``conditions``, ``columns`` or ``vector``; ``None`` for none of these.

    Examples
    --------
    >>> contrast_form(("arm", "b", "a")), contrast_form([(1, {"arm": "b"}), (-1, {"arm": "a"})])
    ('levels', 'conditions')
    >>> contrast_form({"arm[T.b]": 1}), contrast_form([0, 1, -1])
    ('columns', 'vector')
    """
    if isinstance(spec, str):
        return None
    if isinstance(spec, Mapping):
        ok = all(isinstance(v, numbers.Real) for v in spec.values()) and spec
        return "columns" if ok else None
    if not isinstance(spec, Sequence) or not spec:
        return None
    if len(spec) == 3 and all(isinstance(v, str) for v in spec):
        return "levels"
    if all(isinstance(v, numbers.Real) for v in spec):
        return "vector"
    pairs = all(
        isinstance(v, Sequence)
        and len(v) == 2
        and isinstance(v[0], numbers.Real)
        and isinstance(v[1], Mapping)
        for v in spec
    )
    return "conditions" if pairs else None
