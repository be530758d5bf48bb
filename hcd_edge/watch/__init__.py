"""The scanner-side service: watch a folder, score files as they land, remember what was done.

file events (watchdog) and scans -> settle (complete files only) -> state db (skip what has its
row) -> the scoring pipeline (patches, batched across files) or the slide code (slides)
-> results.csv + state db + health.json.

    from hcd_edge.watch import WatchRequest, watch
    watch(WatchRequest(incoming=Path("incoming"), out=Path("results"), once=True))
"""

from hcd_edge.watch.service import WatchReport, WatchRequest, watch

__all__ = ["WatchReport", "WatchRequest", "watch"]
