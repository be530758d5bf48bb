"""A bounded fuzz run inside the suite: mutated seeds through decode_bytes in a subprocess (so a
crash in C fails this test instead of killing pytest), checked by the harness's own oracle."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.decode.conftest import require_native
from tests.fuzz.seeds import write_seeds

HARNESS = Path(__file__).with_name("fuzz_decode.py")


def test_thousands_of_mutated_tiffs_keep_the_decode_contract():
    require_native()
    done = subprocess.run([sys.executable, str(HARNESS), "--smoke", "4000"], capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    histogram = done.stdout.split("smoke statuses:", 1)[1]
    assert "0:" in histogram and "11:" in histogram, histogram  # some decode, some fail


def test_seed_corpus_is_generated_with_every_kind_of_file(tmp_path):
    n = write_seeds(tmp_path / "corpus")
    files = sorted((tmp_path / "corpus").iterdir())
    assert n == len(files) > 50
    assert all(f.stat().st_size < 64 * 1024 for f in files), "seeds stay small"
