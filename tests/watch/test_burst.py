"""A burst of 10,000 patches landing in a running watch: every one scored exactly once.

Writing 10,000 files of 27,935 bytes costs ~3 ms each on a busy CI disk, so the burst is made of
hard links to 16 generated patches (~0.1 ms each): half renamed into place from a hidden staging
folder, half linked straight into the folder (taken after --settle).
"""

from __future__ import annotations

import os
import time

import pytest

from hcd_edge.watch import WatchRequest
from tests.watch.helpers import count_rows, drop, read_rows, running_watch, wait_until

BURST = 10_000


@pytest.mark.slow
def test_a_burst_of_10000_patches_gets_exactly_one_row_each(tmp_path, engine_dir, payloads):
    incoming, out = tmp_path / "in", tmp_path / "out"
    sources = drop(tmp_path / "sources", [f"s{i}.tif" for i in range(len(payloads))], payloads)
    staging = incoming / ".staging"  # hidden: files there are never taken
    staging.mkdir(parents=True)
    names = [f"p{i:05d}.tif" for i in range(BURST)]
    for i, name in enumerate(names[: BURST // 2]):
        os.link(sources[i % len(sources)], staging / name)
    request = WatchRequest(incoming, out, engine=engine_dir, settle=0.2, batch_window=0.2, batch=128)
    with running_watch(request):
        began = time.monotonic()
        for i, name in enumerate(names):
            if i < BURST // 2:
                os.rename(staging / name, incoming / name)
            else:
                os.link(sources[i % len(sources)], incoming / name)
        wait_until(lambda: count_rows(out) >= BURST, 120, f"{BURST} rows", poll=0.2)
        seconds = time.monotonic() - began
        time.sleep(0.5)
    rows = read_rows(out)
    assert len(rows) == BURST
    assert {r["path"] for r in rows} == {str(incoming / n) for n in names}
    assert all(r["status"] == "0" for r in rows)
    print(f"\n{BURST} patches landed and were scored in {seconds:.1f} s ({BURST / seconds:,.0f}/s)")
