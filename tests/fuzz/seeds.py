"""Write the fuzz seed corpus (valid variants, fallbacks, malformed files) into a folder.

Seeds are generated, not committed: `python tests/fuzz/seeds.py DIR` (make fuzz does this).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script from the Makefile
    sys.path.insert(0, str(ROOT))

from tests.decode import corpus


def seed_cases() -> list[corpus.Case]:
    """A small, varied seed set: every coding once, the fallbacks, a slice of the malformed."""
    valid = [c for c in corpus.valid_variants() if c.name.endswith(("rps96", "rps7"))]
    return valid[::2] + corpus.fallback_variants() + corpus.malformed_cases()[::7]


def write_seeds(folder: Path) -> int:
    """Write the seeds as folder/seed-NNNN.tif; returns how many (existing files are kept)."""
    folder.mkdir(parents=True, exist_ok=True)
    cases = seed_cases()
    for i, case in enumerate(cases):
        (folder / f"seed-{i:04d}.tif").write_bytes(case.data)
    return len(cases)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: seeds.py DIR")
    print(f"{write_seeds(Path(sys.argv[1]))} seeds in {sys.argv[1]}")
