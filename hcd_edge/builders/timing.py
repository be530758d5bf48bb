"""Timing alternatives side by side at build time: interleaved rounds, best of each.

Interleaving makes a busy machine slow every alternative alike; the best round of each is the
least disturbed measurement of what it can do.
"""

from __future__ import annotations

import time
from collections.abc import Callable

TIMING_ROUNDS = 5  # interleaved rounds after one warm-up


def time_interleaved(
    runs: dict[str, Callable[[], object]], items_per_run: int, rounds: int = TIMING_ROUNDS
) -> dict[str, float]:
    """Items/s of each callable (one call processes items_per_run items): best of `rounds`."""
    best = {name: float("inf") for name in runs}
    for round_index in range(rounds + 1):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            if round_index > 0:  # round 0 warms up (allocations, prepacked weights)
                best[name] = min(best[name], time.perf_counter() - start)
    return {name: items_per_run / seconds for name, seconds in best.items()}
