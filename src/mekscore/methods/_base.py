"""The method record: every fact about a scoring method, importable without numpy.

A method is a kernel ``func(X, gene_sets, **params)`` where ``X`` is an
observations x genes matrix, either a dense ``numpy.ndarray`` (float) or a
``scipy.sparse.csr_matrix``, already checked for NaN/inf by the caller, and
``gene_sets`` is a sequence of :class:`~mekscore.methods.GeneSet` holding *column
indices* into ``X`` (genes were matched once, up front, by :mod:`mekscore.genes`).

The kernel returns a float64 array of shape ``(n_obs, n_sets)``, or a dict of such
arrays whose ``"score"`` entry is the main score (extra entries, e.g. singscore's
``"up"``, ``"down"`` and ``"dispersion"``, are stored next to it).

Everything else about a method (what data it expects, whether it is rank-based,
whether it streams, its parameters with their defaults and valid values, the data
kinds it is the default for) is in its :class:`Method` record, declared in
:mod:`mekscore.methods._records` without importing the kernel, so the command line's
help, the README's method table and the lists used elsewhere are derived from it
cheaply. A kernel module takes its defaults from its record and binds its
callables to it (:meth:`Method.bind`).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import InputError

#: The kinds of data a method can be the default for: scored per cell, or per sample.
DATA_KINDS = ("cells", "samples")

ParamType = Literal["bool", "int", "float", "choice", "count_or_fraction"]


@dataclass(frozen=True)
class Param:
    """One parameter of a method: its default, its valid values and a line of help.

    Parameters
    ----------
    name
        The keyword the kernel takes (and the command line's ``--name``).
    default
        The value used when none is given, as the reference implementation has it.
    help
        What it does, in a few words (the CLI help and the README table).
    type
        ``"bool"``; ``"int"`` or ``"float"`` (finite, within ``low``..``high``);
        ``"choice"`` (one of ``choices``); ``"count_or_fraction"`` (a fraction in
        (0, 1) or a whole number >= 2, AUCell's threshold).
    low, high
        Inclusive bounds of a number.
    choices
        Valid values of a ``"choice"``.
    cli
        Whether the command line offers it (``False`` when its name would clash
        with another method's parameter of a different type).

    Examples
    --------
    >>> Param("max_rank", 1500, "rank cap", "int", low=2).check(200.0, "ucell")
    200
    >>> Param("kcdf", "gaussian", "kernel", "choice", choices=("gaussian", "none")).rule
    "one of 'gaussian', 'none'"
    """

    name: str
    default: Any
    help: str
    type: ParamType
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    cli: bool = True

    @property
    def rule(self) -> str:
        """The valid values, in words."""
        if self.type == "bool":
            return "True or False"
        if self.type == "choice":
            return "one of " + ", ".join(map(repr, self.choices))
        if self.type == "count_or_fraction":
            return "a fraction in (0, 1) or a whole number >= 2"
        noun = "an integer" if self.type == "int" else "a finite number"
        if self.low is not None and self.high is not None:
            return f"{noun} in [{_number(self.low)}, {_number(self.high)}]"
        if self.low is not None:
            return f"{noun} >= {_number(self.low)}"
        return noun

    def check(self, value: Any, method: str) -> Any:
        """``value`` as the kernel takes it; :class:`InputError` if it is not valid."""
        checked = _CHECKS[self.type](self, value)
        if checked is _INVALID:
            raise InputError(
                "method {method!r}: {" + self.name + "=} must be {rule} (default {default!r})",
                method=method,
                rule=self.rule,
                default=self.default,
                **{self.name: value},
            )
        return checked


_INVALID = object()


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not _is_bool(value)


def _is_bool(value: Any) -> bool:
    return type(value).__name__ in ("bool", "bool_")  # numpy 1 and 2 names, without numpy


def _within(param: Param, value: float) -> bool:
    above = param.low is None or value >= param.low
    return math.isfinite(value) and above and (param.high is None or value <= param.high)


def _check_bool(param: Param, value: Any) -> Any:
    return bool(value) if _is_bool(value) else _INVALID


def _check_int(param: Param, value: Any) -> Any:
    if not _is_number(value) or not _within(param, float(value)):
        return _INVALID
    return int(value) if float(value).is_integer() else _INVALID


def _check_float(param: Param, value: Any) -> Any:
    return float(value) if _is_number(value) and _within(param, float(value)) else _INVALID


def _check_choice(param: Param, value: Any) -> Any:
    return value if isinstance(value, str) and value in param.choices else _INVALID


def _check_count_or_fraction(param: Param, value: Any) -> Any:
    if not _is_number(value) or not math.isfinite(float(value)):
        return _INVALID
    if 0 < value < 1:
        return float(value)
    return int(value) if float(value).is_integer() and value >= 2 else _INVALID


_CHECKS: dict[str, Callable[[Param, Any], Any]] = {
    "bool": _check_bool,
    "int": _check_int,
    "float": _check_float,
    "choice": _check_choice,
    "count_or_fraction": _check_count_or_fraction,
}


@dataclass(frozen=True)
class Method:
    """A registered scoring method: its facts, its parameters and (once bound) its kernel.

    Parameters
    ----------
    name
        Public name used by ``tl.score(method=...)`` and the CLI.
    kind
        ``"rank"``: reads each observation's own gene ranks (UCell, AUCell,
        singscore, ssGSEA); ``"standardised"``: puts genes on a common scale across
        observations or averages their values (z-score, GSVA, PLAGE, scanpy, mean).
        ``tl.compare_methods`` pairs one of each.
    data
        ``"log"`` if the method expects log-normalised data, ``"any"`` if rank-based
        or scale-free, ``"counts"`` for count-model methods.
    parameters
        Its parameters, defaults included (:class:`Param`).
    streaming
        ``"row-wise"``: rows are scored independently (chunked, streamed, Dask
        blocks); ``"affine"``: the score is ``X @ W + offset`` once per-gene moments
        are known, so two streaming passes do; ``None``: all observations in memory.
    standardises_genes
        Whether it standardises every gene across observations first, so per-gene
        scaling (``sc.pp.scale``) does not change its scores.
    reference
        The implementation the numbers are tested against.
    signed
        How down genes are used, in one sentence.
    default_for
        The data kinds (:data:`DATA_KINDS`) it is the default method for.
    why_default
        Why, in one clause (printed in the CLI help).
    func, finalize, affine
        Bound by the kernel module (:meth:`bind`): the kernel; an optional function
        applied once to the full ``(n_obs, n_sets)`` score matrix (ssGSEA's
        normalisation by the range); ``affine(moments, gene_sets, params) -> (W,
        offset)`` for ``streaming="affine"``.
    """

    name: str
    kind: Literal["rank", "standardised"]
    data: Literal["log", "any", "counts"]
    parameters: tuple[Param, ...]
    streaming: Literal["row-wise", "affine"] | None
    standardises_genes: bool
    reference: str
    signed: str
    default_for: tuple[str, ...] = ()
    why_default: str = ""
    func: Callable[..., Any] | None = None
    finalize: Callable[[Any, dict[str, Any]], Any] | None = None
    affine: Callable[..., tuple[Any, Any]] | None = None

    @property
    def defaults(self) -> dict[str, Any]:
        """Parameter name -> default."""
        return {p.name: p.default for p in self.parameters}

    @property
    def row_wise(self) -> bool:
        """Whether rows can be scored independently (chunked, streamed, Dask blocks)."""
        return self.streaming == "row-wise"

    def param(self, name: str) -> Param:
        """The parameter called ``name`` (:class:`InputError` if the method has none)."""
        for p in self.parameters:
            if p.name == name:
                return p
        raise InputError(
            "method {method!r} has no parameter {" + name + "!p} (its parameters: {own})",
            method=self.name,
            own=", ".join(self.defaults) or "none",
            **{name: None},
        )

    def params(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults updated with ``given``, each value checked; unknown parameters are an error.

        Examples
        --------
        >>> from mekscore.methods import method_info
        >>> method_info("ssgsea").params({"alpha": 1})
        {'alpha': 1.0, 'normalize': True}
        """
        checked = {name: self.param(name).check(value, self.name) for name, value in given.items()}
        return {**self.defaults, **checked}

    def bind(self, func: Callable[..., Any], **callables: Callable[..., Any] | None) -> Method:
        """A copy of the record with its kernel (and ``finalize``/``affine``) attached."""
        return dataclasses.replace(self, func=func, **callables)


__all__ = ["DATA_KINDS", "Method", "Param"]
