"""Turning errors into one clear line on stderr and the documented exit codes (no tracebacks)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

import click

from hcd_edge.errors import HcdEdgeError, UsageError, describe_os_error

EXIT_OK = 0
EXIT_ERROR = 1  # configuration or environment error
EXIT_USAGE = 2  # usage error: a bad option value, or options that contradict each other
EXIT_PARTIAL = 3  # finished, but some inputs could not be scored (flagged in the output)
EXIT_INTERRUPTED = 130  # Ctrl-C (the shell's code for SIGINT)
TRACEBACK_ENV = "HCD_EDGE_TRACEBACK"  # set to 1 to see the traceback of an unexpected error


@contextlib.contextmanager
def library_errors() -> Iterator[None]:
    """Re-raise HcdEdgeError as a click error: UsageError exits 2, every other one exits 1."""
    try:
        yield
    except UsageError as exc:
        raise click.UsageError(str(exc)) from exc
    except HcdEdgeError as exc:
        raise click.ClickException(str(exc)) from exc


def exit_on_error(exc: BaseException) -> int:
    """Print one line for an exception that escaped a command; returns the exit code."""
    if isinstance(exc, KeyboardInterrupt | click.Abort) or _during_interrupt(exc):
        _say("interrupted")
        return EXIT_INTERRUPTED
    if isinstance(exc, click.ClickException):
        exc.show()
        return exc.exit_code
    if isinstance(exc, HcdEdgeError):
        _say(f"Error: {exc}")
        return EXIT_USAGE if isinstance(exc, UsageError) else EXIT_ERROR
    if isinstance(exc, BrokenPipeError):
        return EXIT_ERROR  # the reader went away (e.g. `| head`): nothing to say to it
    if isinstance(exc, OSError):
        _say(f"Error: {describe_os_error(exc)}")
        return EXIT_ERROR
    if os.environ.get(TRACEBACK_ENV) == "1":
        raise exc
    _say(f"Error: unexpected {type(exc).__name__}: {exc} (a bug: please report it; "
         f"{TRACEBACK_ENV}=1 shows the traceback)")
    return EXIT_ERROR


def _during_interrupt(exc: BaseException) -> bool:
    """True when a Ctrl-C caused the error (e.g. a library turned it into an ImportError)."""
    seen = set()
    link = exc.__cause__ or exc.__context__
    while link is not None and id(link) not in seen:
        if isinstance(link, KeyboardInterrupt):
            return True
        seen.add(id(link))
        link = link.__cause__ or link.__context__
    return False


def _say(line: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
