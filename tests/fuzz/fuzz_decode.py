"""Fuzz hcd_edge.decode.decode_bytes: no crash, statuses from the table, failed rows zeroed, all
output kinds agreeing, pixels equal to tifffile's whenever both decode, and normalize_patches
(from memory) equal to the decoded rows.

    make fuzz                         # atheris for FUZZ_SECONDS (default 60) over generated seeds
    python tests/fuzz/fuzz_decode.py -max_total_time=60 DIR   # atheris, libFuzzer flags
    python tests/fuzz/fuzz_decode.py --smoke N                # N random mutations, no atheris

atheris instruments the Python layers (decode API, reference, structure checks) for coverage;
the C core is reached but not coverage-instrumented (that needs a clang -fsanitize=fuzzer-no-link
build, see tests/native/driver.c for the libFuzzer entry point).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MEAN, STD = (0.70, 0.54, 0.69), (0.23, 0.27, 0.21)


def check_one(data: bytes) -> int:
    """Decode data into every output kind and check the contract; returns the status."""
    from hcd_edge.decode import DecodeStatus, decode_bytes, normalize_patches
    from hcd_edge.decode.reference import pixels_from_bytes

    rows = [np.empty((96, 96, 3), np.uint8), np.empty((3, 96, 96), np.float32),
            np.empty((3, 96, 96), np.float16)]
    statuses = [decode_bytes(data, row, mean=MEAN, std=STD) for row in rows]
    status = statuses[0]
    assert len(set(statuses)) == 1, f"output kinds disagree: {statuses}"
    assert status in {s.value for s in DecodeStatus}, f"status {status} is not in the table"
    if status != 0:
        assert not any(row.any() for row in rows), "a failed row was not zeroed"
        return status
    ref_status, pixels = pixels_from_bytes(bytes(data))
    if ref_status == DecodeStatus.OK:
        assert np.array_equal(rows[0], pixels), "decoded pixels differ from tifffile's"
    scaled = (rows[0].transpose(2, 0, 1).astype(np.float32) / np.float32(255)
              - np.float32(MEAN).reshape(3, 1, 1)) / np.float32(STD).reshape(3, 1, 1)
    assert np.array_equal(rows[1], scaled), "float32 row differs from the numpy reference"
    from_memory = np.empty((1, 3, 96, 96), np.float16)
    normalize_patches(rows[0][None], from_memory, mean=MEAN, std=STD, threads=1)
    assert np.array_equal(from_memory[0].view(np.uint16), rows[2].view(np.uint16)), \
        "normalize-from-memory differs from the decoded float16 row"
    return status


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """A few byte edits, mostly in the header/IFD region; sometimes a cut or a splice."""
    work = bytearray(data)
    if not work:
        return bytes(rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8))
    for _ in range(int(rng.integers(1, 9))):
        span = min(len(work), 512) if rng.random() < 0.75 else len(work)
        at = int(rng.integers(0, span))
        work[at] = int(rng.choice([0, 1, 2, 3, 8, 0x60, 0x7F, 0x80, 0xFF])) if rng.random() < 0.4 \
            else int(rng.integers(0, 256))
    if rng.random() < 0.1:
        del work[int(rng.integers(0, len(work))):]
    return bytes(work)


def smoke(iterations: int, seed: int = 0) -> dict[int, int]:
    """Run `iterations` mutated seeds through check_one; returns a status histogram."""
    from tests.fuzz.seeds import seed_cases

    seeds = [c.data for c in seed_cases()]
    rng = np.random.default_rng(seed)
    counts: dict[int, int] = {}
    for _ in range(iterations):
        data = mutate(seeds[int(rng.integers(0, len(seeds)))], rng)
        status = check_one(data)
        counts[status] = counts.get(status, 0) + 1
    return counts


def main(argv: list[str]) -> None:
    if len(argv) >= 2 and argv[1] == "--smoke":
        counts = smoke(int(argv[2]) if len(argv) > 2 else 2000)
        print("smoke statuses:", dict(sorted(counts.items())))
        return
    import logging

    import atheris

    logging.getLogger("tifffile").setLevel(logging.CRITICAL)  # corrupt input logs by the line
    with atheris.instrument_imports():
        import hcd_edge.decode
        import hcd_edge.decode.reference
        import hcd_edge.decode.structure  # noqa: F401
    atheris.Setup(argv, check_one)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
