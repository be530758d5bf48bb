"""`hcd-edge watch`: score files as a scanner drops them into a folder (a long-running service)."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

import click

from hcd_edge.cli.errors import EXIT_PARTIAL, library_errors
from hcd_edge.cli.options import batch_option, threads_option
from hcd_edge.watch.selection import DEFAULT_PATTERNS, SLIDE_PATTERNS, parse_patterns

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class PatternsType(click.ParamType):
    """A comma-separated list of file-name patterns, e.g. *.tif,*.svs."""

    name = "PATTERN,..."

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            return parse_patterns(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


@click.command(short_help="Score files as a scanner drops them into a folder.")
@click.argument("incoming", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder: results.csv, the state database, health.json, slide outputs.")
@click.option("--engine", type=click.Path(path_type=Path), default=None,
              help="Engine folder (from build-engine). Default: the starter model's engine.")
@click.option("--patterns", type=PatternsType(), default=",".join(DEFAULT_PATTERNS),
              show_default=True, help="File names to take (case-insensitive; names starting "
              "with '.' are never taken: that is where copies in progress live).")
@click.option("--slide-patterns", type=PatternsType(), default=",".join(SLIDE_PATTERNS),
              show_default=True, help="Which taken files are whole slides (add e.g. "
              "'*.ome.tiff' for pyramidal TIFFs); the others are 96x96 patches.")
@click.option("--settle", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="Seconds a file's size and modification time must stay unchanged before it "
                   "is taken (a file renamed into place is taken at once).")
@click.option("--batch-window", type=click.FloatRange(min=0), default=0.5, show_default=True,
              help="Seconds a complete patch waits for others to fill a batch.")
@batch_option
@threads_option
@click.option("--threshold", type=click.FloatRange(0.0, 1.0), default=None,
              help="Probability at or above which label = 1 [default: the engine's threshold].")
@click.option("--once", is_flag=True, help="Score what is in INCOMING (once settled), then exit.")
@click.option("--polling", is_flag=True,
              help="Poll instead of using inotify (automatic on NFS/SMB shares).")
@click.option("--rescan", type=click.FloatRange(min=0), default=300.0, show_default=True,
              help="Seconds between full rescans, which catch events the kernel dropped; 0: never.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
              default="info", show_default=True)
def watch(incoming, out, engine, patterns, slide_patterns, settle, batch_window, batch, threads,
          threshold, once, polling, rescan, log_level):
    """Score files dropped into INCOMING as they land; results append to OUT/results.csv.

    A file is taken when complete (renamed into place, or unchanged for --settle seconds);
    OUT/watch-state.sqlite remembers every file by path, size and modification time, so a
    restart neither rescores nor skips anything and a replaced file is scored again.
    OUT/health.json is rewritten every few seconds. SIGTERM (or Ctrl-C) finishes the batch in
    progress and exits 0. With --once: exit 0, or 3 when some files got error rows.
    """
    from hcd_edge.cli.score import _starter_model
    from hcd_edge.watch.selection import Selection
    from hcd_edge.watch.service import WatchRequest
    from hcd_edge.watch.service import watch as run_watch

    logging.basicConfig(level=log_level.upper(), format=LOG_FORMAT)
    request = WatchRequest(
        incoming=incoming, out=out, engine=engine,
        selection=Selection(patterns=patterns, slide_patterns=slide_patterns), settle=settle,
        batch_window=batch_window, once=once, batch=batch, threads=threads, threshold=threshold,
        polling=polling, rescan=rescan, starter_model=_starter_model(),
    )
    stop = threading.Event()
    previous = {signum: signal.signal(signum, lambda *_: stop.set())
                for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        with library_errors():
            report = run_watch(request, stop)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if once and report.errors:
        click.get_current_context().exit(EXIT_PARTIAL)
