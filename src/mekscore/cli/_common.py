"""Shared command-line plumbing: one-line errors, ``--quiet``/``--verbose``, warnings as lines."""

from __future__ import annotations

import functools
import logging
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import click

#: Errors caused by the user's input or options: exit code 2, no traceback.
EXPECTED_ERRORS = (ValueError, KeyError, TypeError, FileNotFoundError, PermissionError)
EXIT_INPUT, EXIT_FAILURE, EXIT_INTERRUPTED = 2, 1, 130
_PACKAGE_DIR = str(Path(__file__).resolve().parents[1])


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
        self.pending.append(f"warning: {message}")

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


@contextmanager
def reported_warnings(reporter: Reporter) -> Iterator[None]:
    """Show mekscore's user warnings as ``warning: ...`` lines; others only with ``--verbose``."""

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, UserWarning) and str(filename).startswith(_PACKAGE_DIR):
            reporter.warn(error_message(message) if isinstance(message, Warning) else message)
        elif reporter.verbose:
            reporter.warn(f"{category.__name__}: {message} ({filename}:{lineno})")

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

    The callback receives a :class:`Reporter` as ``reporter``. Expected errors (bad input,
    unknown ids or parameters) print ``error: <message>`` and exit 2; any other error
    exits 1; ``--verbose`` adds the traceback. Warnings are printed once the command
    succeeds (before its summary), so a failure ends with its one error line.
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
            with reported_warnings(reporter):
                result = func(*args, reporter=reporter, **kwargs)
            reporter.flush()
            return result
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            _fail("interrupted", EXIT_INTERRUPTED, reporter)
        except EXPECTED_ERRORS as err:
            _fail(error_message(err), EXIT_INPUT, reporter)
        except Exception as err:
            _fail(f"{type(err).__name__}: {error_message(err)}", EXIT_FAILURE, reporter)

    return wrapper


def _fail(message: str, code: int, reporter: Reporter) -> None:
    """Print ``error: message`` (with held warnings and the traceback if verbose) and exit."""
    if reporter.verbose:
        reporter.flush()
        click.echo(traceback.format_exc().rstrip(), err=True)
    click.echo(f"error: {message}", err=True)
    sys.exit(code)
