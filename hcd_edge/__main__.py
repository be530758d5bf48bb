"""`python -m hcd_edge` and the `hcd-edge` script: the command line, Ctrl-C safe from the start."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import NoReturn

EXIT_INTERRUPTED = 130
# Commands that close and rename every output before they return, so their process may end
# without the interpreter's teardown (freeing numpy, ONNX Runtime and every module: ~37 ms of
# a one-patch run's ~0.25 s here, benchmarks/end_to_end.py). mypy ends its runs the same way.
QUICK_EXIT_COMMANDS = frozenset({"score"})
# Loaded modules whose exit handlers must run: a Ray driver shuts its local cluster down,
# multiprocessing joins its children, coverage writes its data.
TEARDOWN_MODULES = ("ray", "multiprocessing", "coverage")
FULL_EXIT_ENV = "HCD_EDGE_FULL_EXIT"  # set to 1: always exit through the interpreter's teardown


def run() -> None:
    """Entry point: a Ctrl-C even while the modules load exits 130 with one line, no traceback."""
    try:
        from hcd_edge.cli import main
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
    try:
        main()
    except SystemExit as done:
        import threading

        others = [t for t in threading.enumerate() if t is not threading.main_thread()]
        traced = sys.gettrace() is not None or sys.getprofile() is not None
        if quick_exit_allowed(sys.argv[1:2], sys.modules, os.environ, done.code, others, traced):
            quick_exit(done.code)  # type: ignore[arg-type]
        raise


def quick_exit_allowed(
    command: Sequence[str],
    modules: Mapping[str, object],
    environ: Mapping[str, str],
    code: object,
    other_threads: Sequence,
    traced: bool,
) -> bool:
    """Whether this finished run may skip the teardown: a quick-exit command, an int status,
    nothing loaded that works at exit, no other thread to wait for (only daemons), no tracer
    or profiler attached, and not turned off."""
    return (
        bool(command)
        and command[0] in QUICK_EXIT_COMMANDS
        and (code is None or isinstance(code, int))
        and not any(name in modules for name in TEARDOWN_MODULES)
        and all(t.daemon for t in other_threads)
        and not traced
        and environ.get(FULL_EXIT_ENV, "") in ("", "0")
    )


def quick_exit(code: int | None) -> NoReturn:
    """Flush stdout and stderr, then end the process at once with status code (None: 0)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can reach it
            pass
    os._exit(code or 0)


if __name__ == "__main__":
    run()
