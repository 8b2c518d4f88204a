"""The errors and warnings mekscore gives for bad input: one module, importable without numpy.

A message names the problem and the fix in one line. When it is about parameters it
names them structurally, so each front end says them in its own words: the message is
a template whose fields are passed as keywords, ``{name=}`` being the parameter
``name`` with its value and ``{name!p}`` the parameter alone. Python renders them as
``name=value`` and ``name``; the command line as the command's own flag
(``--max-rank 10``, ``--max-rank``), looked up from the command's declared options.
A field holding a :class:`Setting` is that parameter with another value (a suggested
fix). Other fields are plain values. A message given without keywords is plain text.

Both error classes are ``ValueError`` subclasses. The command line maps them to one
``error:`` line and exit code 2; any other exception is a bug (exit 1).

Examples
--------
>>> err = InputError("a part has {n} genes, more than {max_rank=}; raise {max_rank!p}",
...                  n=17, max_rank=10)
>>> str(err)
'a part has 17 genes, more than max_rank=10; raise max_rank'
>>> err.render(lambda name, value, with_value: "--" + name.replace("_", "-")
...            + (f" {value}" if with_value else ""))
'a part has 17 genes, more than --max-rank 10; raise --max-rank'
"""

from __future__ import annotations

import string
import warnings
from dataclasses import dataclass
from typing import Any, Protocol


class ParameterNamer(Protocol):
    """Says a parameter in one front end's words: ``(name, value, *, with_value) -> text``.

    ``None`` falls back to Python's ``name=value``.
    """

    def __call__(self, name: str, value: Any, *, with_value: bool) -> str | None: ...


def python_name(name: str, value: Any, *, with_value: bool) -> str:
    """A parameter as Python spells it: ``name=value`` (``repr``) or ``name``.

    Examples
    --------
    >>> python_name("kcdf", "foo", with_value=True), python_name("kcdf", "foo", with_value=False)
    ("kcdf='foo'", 'kcdf')
    """
    return f"{name}={value!r}" if with_value else name


_FORMATTER = string.Formatter()


@dataclass(frozen=True)
class Setting:
    """A parameter with a value other than the one given, for a message's suggested fix.

    Examples
    --------
    >>> fix = Setting("kcdf", "none")
    >>> str(InputError("{kcdf=} needs counts; try {fix}", kcdf="poisson", fix=fix))
    "kcdf='poisson' needs counts; try kcdf='none'"
    """

    name: str
    value: Any


class _Rendered:
    """A message template with its fields, said in Python words unless rendered otherwise."""

    def __init__(self, message: str, /, **fields: Any) -> None:
        self.template, self.fields = message, fields
        super().__init__(self.render(python_name))

    def render(self, namer: ParameterNamer) -> str:
        """The message with its parameters said by ``namer`` (see :class:`ParameterNamer`)."""
        if not self.fields:
            return self.template
        parts = []
        for literal, field, spec, conversion in _FORMATTER.parse(self.template):
            parts.append(literal)
            if field is None:
                continue
            name = field.removesuffix("=")
            value, _ = _FORMATTER.get_field(name, (), self.fields)
            if isinstance(value, Setting):
                name, value = value.name, value.value
            elif not field.endswith("=") and conversion != "p":
                value = _FORMATTER.convert_field(value, conversion)
                parts.append(_FORMATTER.format_field(value, spec))
                continue
            with_value = conversion != "p"
            said = namer(name, value, with_value=with_value)
            parts.append(said or python_name(name, value, with_value=with_value))
        return "".join(parts)


class InputError(_Rendered, ValueError):
    """Input data or options that cannot be used as given; the message says how to fix it.

    Parameters
    ----------
    message
        One line naming the problem and the fix; a template over ``fields`` when they
        are given (see the module docstring), plain text otherwise.
    **fields
        The template's values, parameters among them.
    """


class SignatureError(InputError):
    """A signature definition (library YAML, GMT file, custom dict) is malformed."""


class InputWarning(_Rendered, UserWarning):
    """Something about the input the user should know and may fix; worded like InputError."""


def warn(message: str, /, *, stacklevel: int = 2, **fields: Any) -> None:
    """Issue an :class:`InputWarning` (the one way mekscore warns about input).

    ``stacklevel`` counts from the caller of :func:`warn`, as for :func:`warnings.warn`.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as seen:
    ...     warnings.simplefilter("always")
    ...     warn("scored {log_normalize=} data", log_normalize=True)
    >>> str(seen[0].message)
    'scored log_normalize=True data'
    """
    warnings.warn(InputWarning(message, **fields), stacklevel=stacklevel + 1)


__all__ = ["InputError", "InputWarning", "Setting", "SignatureError", "python_name", "warn"]
