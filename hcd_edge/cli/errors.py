"""Turning library errors into clean CLI messages and the documented exit codes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click

from hcd_edge.errors import HcdEdgeError

EXIT_OK = 0
EXIT_ERROR = 1  # configuration or environment error
EXIT_USAGE = 2  # click usage error
EXIT_PARTIAL = 3  # finished, but some inputs could not be scored (flagged in the output)


@contextlib.contextmanager
def library_errors() -> Iterator[None]:
    """Re-raise HcdEdgeError as click.ClickException (message on stderr, exit code 1)."""
    try:
        yield
    except HcdEdgeError as exc:
        raise click.ClickException(str(exc)) from exc
