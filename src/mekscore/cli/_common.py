"""Shared command-line plumbing: one-line errors, exit codes, warnings, CLI wording.

``--quiet``/``--verbose``, warnings as lines, library messages said in the command's flags.

Nothing here imports the numerical stack, so ``mekscore --help`` stays fast.
"""

from __future__ import annotations

import functools
import logging
import shlex
import signal
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from .._interrupts import noted_interrupts

EXIT_INPUT, EXIT_FAILURE, EXIT_INTERRUPTED = 2, 1, 130
#: click >= 8.2 raises this for a bare ``mekscore``: show the help, not an error line.
_NO_ARGS = getattr(click.exceptions, "NoArgsIsHelpError", ())
_PACKAGE_DIR = str(Path(__file__).resolve().parents[1])
#: Warnings from other libraries that change the numbers, shown without ``--verbose``.
NUMERIC_WARNINGS = ("Precision loss occurred in moment calculation",)


def cli_words(name: str, value: Any, *, with_value: bool) -> str | None:
    """A parameter as the running command spells it (``--max-rank 10``), or ``None``.

    The flag is the running command's option whose Python name is ``name``; ``None``
    when the command has no such option (the message then keeps ``name=value``).

    Examples
    --------
    >>> @click.command()
    ... @click.option("--max-rank", type=int)
    ... @click.option("--use-raw", is_flag=True)
    ... def run(max_rank, use_raw):
    ...     pass
    >>> with click.Context(run):
    ...     cli_words("max_rank", 10, with_value=True), cli_words("use_raw", True, with_value=False)
    ('--max-rank 10', '--use-raw')
    """
    ctx = click.get_current_context(silent=True)
    options = [p for p in (ctx.command.params if ctx else []) if isinstance(p, click.Option)]
    option = next((p for p in options if p.name == name), None)
    if option is None:
        return None
    flag = max(option.opts, key=len)
    if option.is_flag:
        return _flag_words(option, flag, value, with_value=with_value)
    if not with_value:
        return flag
    text = option.type.to_text(value) if isinstance(option.type, MappedChoice) else str(value)
    return f"{flag} {shlex.quote(text)}"


def _flag_words(option: click.Option, flag: str, value: Any, *, with_value: bool) -> str:
    """An on/off option: ``--normalize``, ``--no-normalize``, or both when named alone."""
    off = max(option.secondary_opts, key=len) if option.secondary_opts else None
    if not with_value:
        return f"{flag}/{off}" if off else flag
    if value:
        return flag
    return off or f"no {flag}"


class MappedChoice(click.Choice):
    """A choice of words that stand for Python values (``never`` -> ``False``), both ways.

    Examples
    --------
    >>> choice = MappedChoice({"auto": "auto", "always": True, "never": False})
    >>> choice.convert("never", None, None), choice.to_text(False)
    (False, 'never')
    """

    def __init__(self, mapping: dict[str, Any]) -> None:
        super().__init__(list(mapping))
        self.mapping = mapping

    def convert(self, value, param, ctx):
        """The Python value of the word ``value``."""
        if not isinstance(value, str):
            return value
        return self.mapping[super().convert(value, param, ctx)]

    def to_text(self, value: Any) -> str:
        """The word for the Python ``value`` (its ``str`` if none stands for it)."""
        words = [
            w
            for w, v in self.mapping.items()
            if v is value or (v == value and type(v) is type(value))
        ]
        return words[0] if words else str(value)


@dataclass(frozen=True)
class Reporter:
    """Writes notes, warnings and summaries to stderr, as ``--quiet``/``--verbose`` allow.

    Examples
    --------
    >>> Reporter(quiet=True).note("not shown")
    """

    quiet: bool = False
    verbose: bool = False
    pending: list[str] = field(default_factory=list)

    def note(self, message: str) -> None:
        """A ``note: ...`` line (something the command did on the user's behalf)."""
        self._line(f"note: {message}")

    def warn(self, message: str) -> None:
        """A ``warning: ...`` line, held until :meth:`flush` (dropped if the command fails)."""
        line = f"warning: {message}"
        if line not in self.pending:
            self.pending.append(line)

    def flush(self) -> None:
        """Print the held warnings."""
        for line in self.pending:
            self._line(line)
        self.pending.clear()

    def paragraph(self, message: str) -> None:
        """A free-text paragraph (the end-of-run summary), after the held warnings."""
        self.flush()
        self._line(message)

    @property
    def progress(self) -> bool:
        """Whether to draw progress bars (an interactive stderr and not ``--quiet``)."""
        return not self.quiet and sys.stderr.isatty()

    def _line(self, text: str) -> None:
        if not self.quiet:
            click.echo(text, err=True)


def error_message(err: BaseException) -> str:
    """An exception as one line (``KeyError`` without its quotes).

    Examples
    --------
    >>> error_message(KeyError("unknown signature id 'x'"))
    "unknown signature id 'x'"
    """
    text = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    text = " ".join(text.split())
    return text or type(err).__name__


def is_interrupt(err: BaseException) -> bool:
    """Whether ``err`` is Ctrl-C, or wraps it (numba raises ``SystemError`` from a kernel).

    Examples
    --------
    >>> try:
    ...     try:
    ...         raise KeyboardInterrupt
    ...     except KeyboardInterrupt as ki:
    ...         raise SystemError("CPUDispatcher(<function kernel>)") from ki
    ... except SystemError as err:
    ...     is_interrupt(err)
    True
    >>> is_interrupt(ValueError("bad"))
    False
    """
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt | click.Abort):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def is_input_error(err: BaseException) -> bool:
    """Whether ``err`` is bad input or options (exit 2) rather than a bug (exit 1).

    Examples
    --------
    >>> from mekscore.errors import InputError
    >>> is_input_error(InputError("no such column")), is_input_error(KeyError("x"))
    (True, False)
    """
    if isinstance(err, FileNotFoundError | PermissionError | click.UsageError):
        return True
    from ..errors import InputError, SignatureError

    return isinstance(err, InputError | SignatureError)


def failure(err: BaseException, *, verbose: bool = False) -> tuple[str, int]:
    """The one-line message and exit code of a command that raised ``err``.

    Bad input is said in the running command's flags (:func:`cli_words`). A bug's
    line suggests ``--verbose`` unless the traceback is already shown.

    Examples
    --------
    >>> failure(FileNotFoundError("input file not found: x.h5ad"))
    ('input file not found: x.h5ad', 2)
    >>> failure(KeyError("n_obs"))
    ('internal error (KeyError: n_obs); rerun with --verbose for the traceback', 1)
    >>> failure(KeyError("n_obs"), verbose=True)
    ('internal error (KeyError: n_obs)', 1)
    """
    if is_interrupt(err):
        return "interrupted", EXIT_INTERRUPTED
    if isinstance(err, click.ClickException):
        return _usage_message(err), EXIT_INPUT
    if is_input_error(err):
        return input_message(err), EXIT_INPUT
    hint = "" if verbose else "; rerun with --verbose for the traceback"
    return f"internal error ({type(err).__name__}: {error_message(err)}){hint}", EXIT_FAILURE


def input_message(problem: BaseException) -> str:
    """An input error or warning as one line in the running command's words.

    Examples
    --------
    >>> from mekscore.errors import InputError
    >>> input_message(InputError("no {layer=} here", layer="counts"))  # outside a command
    "no layer='counts' here"
    """
    from ..errors import InputError, InputWarning

    if isinstance(problem, InputError | InputWarning) and problem.fields:
        return " ".join(problem.render(cli_words).split())
    return error_message(problem)


def _usage_message(err: click.ClickException) -> str:
    """Click's message on one line, pointing at the command's ``--help``."""
    text = " ".join(err.format_message().split()).rstrip(".")
    ctx = getattr(err, "ctx", None)
    return f"{text} (see '{ctx.command_path} --help')" if ctx is not None else text


def _shown(category: type[Warning], message: str, filename: str) -> bool:
    """Whether a warning is shown without ``--verbose``: ours, or one that changes numbers."""
    from ..errors import InputWarning

    ours = str(filename).startswith(_PACKAGE_DIR)
    if issubclass(category, InputWarning) or (
        issubclass(category, UserWarning | RuntimeWarning) and ours
    ):
        return True
    return any(text in message for text in NUMERIC_WARNINGS)


@contextmanager
def reported_warnings(reporter: Reporter) -> Iterator[None]:
    """Show mekscore's warnings, and others that change the numbers, as ``warning:`` lines.

    Any other warning is shown only with ``--verbose``.
    """

    def show(message, category, filename, lineno, *_file_and_line):
        text = input_message(message) if isinstance(message, Warning) else str(message)
        if _shown(category, text, filename):
            reporter.warn(text)
        elif reporter.verbose:
            reporter.warn(f"{category.__name__}: {text} ({filename}:{lineno})")

    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = show
        yield


def _setup_logging(reporter: Reporter) -> None:
    level = (
        logging.ERROR if reporter.quiet else logging.INFO if reporter.verbose else logging.WARNING
    )
    logger = logging.getLogger("mekscore")
    logger.setLevel(level)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        logger.addHandler(handler)


def command(func: Callable) -> Callable:
    """Give a click callback ``-q/--quiet``, ``-v/--verbose`` and one-line error handling.

    The callback receives a :class:`Reporter` as ``reporter``. Bad input (``InputError``,
    ``SignatureError``, a missing file, no permission) prints ``error: <message>`` in
    command-line words and exits 2; Ctrl-C prints ``error: interrupted`` and exits 130;
    anything else is a bug: ``error: internal error (...)``, exit 1. ``--verbose`` adds
    the traceback. Warnings are printed once the command succeeds (before its
    summary), so a failure ends with its one error line.
    """

    @click.option("-v", "--verbose", is_flag=True, help="Show tracebacks and library warnings.")
    @click.option("-q", "--quiet", is_flag=True, help="Print errors only.")
    @functools.wraps(func)
    def wrapper(*args, quiet: bool, verbose: bool, **kwargs):
        if quiet and verbose:
            raise click.UsageError("--quiet and --verbose exclude each other")
        reporter = Reporter(quiet=quiet, verbose=verbose)
        _setup_logging(reporter)
        try:
            with noted_interrupts() as noted, reported_warnings(reporter):
                result = func(*args, reporter=reporter, **kwargs)
                if noted:
                    raise KeyboardInterrupt
        except (click.exceptions.Exit, SystemExit):
            raise
        except BaseException as err:  # every failure becomes one line
            _fail(err, reporter)
        reporter.flush()
        return result

    return wrapper


def _fail(err: BaseException, reporter: Reporter) -> None:
    """Print ``error: message`` (with held warnings and the traceback if verbose) and exit."""
    message, code = failure(err, verbose=reporter.verbose)
    if reporter.verbose:
        reporter.flush()
        click.echo(traceback.format_exc().rstrip(), err=True)
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


class _Interrupted(Exception):
    """Ctrl-C carried past click's own handler, which would print a blank line first."""


class Group(click.Group):
    """A click group whose usage errors are one ``error:`` line (exit 2), like all bad input.

    Examples
    --------
    >>> from click.testing import CliRunner
    >>> @click.group(cls=Group)
    ... def cli():
    ...     pass
    >>> @cli.command()
    ... @click.option("--n", type=int, required=True)
    ... def run(n):
    ...     pass
    >>> result = CliRunner().invoke(cli, ["run", "--n", "x"])
    >>> result.exit_code
    2
    >>> result.stderr.splitlines()
    ["error: Invalid value for '--n': 'x' is not a valid integer (see 'cli run --help')"]
    """

    def invoke(self, ctx):
        """Run the subcommand; Ctrl-C leaves as :class:`_Interrupted` (from the interrupt)."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as err:
            raise _Interrupted from err

    def main(self, args=None, prog_name=None, complete_var=None, **extra):
        """Run the command line and exit with its code (0, 1, 2 or 130).

        Run as the program itself (``args`` not given), Ctrl-C is ignored once the
        command has finished, so shutting down never prints a traceback.
        """
        extra.pop("standalone_mode", None)
        try:
            with noted_interrupts() as noted:
                code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            if noted:  # Ctrl-C that a library swallowed
                raise KeyboardInterrupt
        except _NO_ARGS as err:
            err.show()
            code = err.exit_code
        except (click.ClickException, click.Abort, KeyboardInterrupt, _Interrupted) as err:
            message, code = failure(err)
            click.echo(f"error: {message}", err=True)
        if args is None:  # the process's own command line: a late Ctrl-C cannot undo the run
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        sys.exit(code if isinstance(code, int) else 0)
