"""Differential fuzzing of the native decoder against the tifffile reference.

A deterministic corpus of mutants of real patches (re-encoded in every compression the native
decoder reads), or of synthetic patches when the real ones are absent. Each mutant is decoded by
the public road (hcd_edge.decode.decode_bytes, native first) and by the reference
(hcd_edge.decode.reference.pixels_from_bytes, tifffile plus the acceptance rules); the two must
give status 0 for exactly the same files, and the same pixels where both decode.

    python tests/fuzz/differential.py --count 50000 [--seed 1] [--real]   # a longer run
"""

from __future__ import annotations

import argparse
import struct
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script
    sys.path.insert(0, str(ROOT))

from tests.decode.tiffbytes import Ifd, patch_pixels, write_tiff

# (compression, predictor, planar, rows per strip, byte order): every coding the native path reads.
ENCODINGS = [
    ("none", False, "contig", 96, "<"),
    ("none", False, "separate", 7, ">"),
    ("zlib", False, "contig", 96, "<"),
    ("zlib", True, "contig", 8, "<"),
    ("adobe_deflate", False, "separate", 96, ">"),
    ("lzw", False, "contig", 96, "<"),
    ("lzw", True, "contig", 7, ">"),
    ("lzw", False, "separate", 32, "<"),
    ("packbits", False, "contig", 96, "<"),
    ("packbits", True, "separate", 8, ">"),
]
INTERESTING_U32 = (0, 1, 2, 3, 4, 7, 8, 95, 96, 97, 255, 256, 0x7FFF, 0xFFFF, 0x10000,
                   0x7FFFFFFF, 0xFFFFFFFF)
STRIP_TAGS = (273, 279)


def encode_bases(patches: list[np.ndarray], kaggle_files: list[bytes] | None = None) -> list[bytes]:
    """Each patch in every encoding; real Kaggle files are also kept byte for byte."""
    bases = list(kaggle_files or [])
    for i, pixels in enumerate(patches):
        for j in range(len(ENCODINGS)):
            comp, pred, planar, rps, order = ENCODINGS[(i + j) % len(ENCODINGS)]
            kwargs = {"byteorder": order, "planarconfig": planar, "rowsperstrip": rps}
            if comp != "none":
                kwargs.update(compression=comp, predictor=pred)
            bases.append(write_tiff(pixels, **kwargs))
    return bases


def synthetic_patches(n: int) -> list[np.ndarray]:
    """Smooth-plus-noise patches (tests/decode/tiffbytes.patch_pixels), for runs without data."""
    return [patch_pixels(100 + i) for i in range(n)]


def real_files(folder: Path, n: int) -> list[bytes]:
    """The first n real patch files (sorted by name) of a Kaggle-layout folder."""
    return [p.read_bytes() for p in sorted((folder / "train").glob("*.tif"))[:n]]


@dataclass
class Mutant:
    """One mutated file and how it was made (for the failure message)."""

    data: bytes
    how: str


@dataclass
class Strips:
    """Where the strips of a base file lie: (offset, count) pairs in StripOffsets order."""

    spans: list[tuple[int, int]] = field(default_factory=list)

    @classmethod
    def of(cls, data: bytes) -> Strips:
        ifd = Ifd(data)
        offsets, counts = _array(ifd, 273), _array(ifd, 279)
        return cls(list(zip(offsets, counts)))


def _array(ifd: Ifd, tag: int) -> list[int]:
    e = ifd.entry(tag)
    fmt = "H" if e.type == 3 else "I"
    if e.count > 1000:
        raise ValueError(f"tag {tag} holds {e.count} values: not a patch's strip array")
    if e.count * struct.calcsize(fmt) <= 4:
        return list(struct.unpack_from(ifd.order + fmt * e.count, ifd.data, e.at + 8))
    return list(struct.unpack_from(ifd.order + fmt * e.count, ifd.data, e.value))


def _entries(ifd: Ifd) -> list[int]:
    return [ifd.offset + 2 + 12 * i for i in range(ifd.count)]


def mutate_header(data: bytes, rng: np.random.Generator) -> Mutant:
    work = bytearray(data)
    at = int(rng.integers(0, 8))
    work[at] = int(rng.integers(0, 256))
    return Mutant(bytes(work), f"header[{at}]={work[at]}")


def mutate_entry(data: bytes, rng: np.random.Generator) -> Mutant:
    ifd = Ifd(data)
    at = int(rng.choice(_entries(ifd)))
    field_at, size = [(0, 2), (2, 2), (4, 4), (8, 4), (8, 2)][int(rng.integers(0, 5))]
    fmt = ifd.order + ("H" if size == 2 else "I")
    (old,) = struct.unpack_from(fmt, ifd.data, at + field_at)
    choice = rng.random()
    if choice < 0.4:
        new = int(rng.choice(INTERESTING_U32))
    elif choice < 0.8:
        new = old + int(rng.integers(-8, 9))
    else:
        new = int(rng.integers(0, 1 << (8 * size)))
    new %= 1 << (8 * size)
    struct.pack_into(fmt, ifd.data, at + field_at, new)
    return Mutant(ifd.bytes(), f"entry@{at}+{field_at}: {old}->{new}")


def mutate_strip_array(data: bytes, rng: np.random.Generator) -> Mutant:
    """One strip offset or byte count changed by a little or to an interesting value."""
    ifd = Ifd(data)
    tag = int(rng.choice(STRIP_TAGS))
    e = ifd.entry(tag)
    itemsize = 2 if e.type == 3 else 4
    base = e.at + 8 if e.count * itemsize <= 4 else e.value
    at = base + itemsize * int(rng.integers(0, e.count))
    fmt = ifd.order + ("H" if itemsize == 2 else "I")
    (old,) = struct.unpack_from(fmt, ifd.data, at)
    new = old + int(rng.integers(-64, 65)) if rng.random() < 0.7 else int(rng.choice(INTERESTING_U32))
    new %= 1 << (8 * itemsize)
    struct.pack_into(fmt, ifd.data, at, new)
    return Mutant(ifd.bytes(), f"tag {tag} value@{at}: {old}->{new}")


def mutate_strip_bytes(data: bytes, rng: np.random.Generator) -> Mutant:
    """A few bytes or bits changed inside one strip's data."""
    spans = [s for s in Strips.of(data).spans if s[1] > 0]
    off, count = spans[int(rng.integers(0, len(spans)))]
    work = bytearray(data)
    edits = []
    for _ in range(int(rng.integers(1, 5))):
        at = off + int(rng.integers(0, count))
        if rng.random() < 0.5:
            work[at] ^= 1 << int(rng.integers(0, 8))
        else:
            work[at] = int(rng.integers(0, 256))
        edits.append(at)
    return Mutant(bytes(work), f"strip bytes {edits}")


def mutate_strip_tail(data: bytes, rng: np.random.Generator) -> Mutant:
    """One strip moved to the end of the file with bytes appended, cut, or its tail changed."""
    ifd = Ifd(data)
    strips = Strips.of(data)
    k = int(rng.integers(0, len(strips.spans)))
    off, count = strips.spans[k]
    payload = bytes(data[off : off + count])
    kind = int(rng.integers(0, 5))
    if kind == 0:
        tail = bytes(rng.integers(0, 256, int(rng.integers(1, 40)), dtype=np.uint8))
        payload += tail
    elif kind == 1:
        payload += bytes([int(rng.choice([0x00, 0x80, 0xFF, 0x01]))]) * int(rng.integers(1, 4))
    elif kind == 2:
        payload = payload[: max(0, count - int(rng.integers(1, 9)))]
    elif kind == 3:
        payload = payload[:-4] + bytes(rng.integers(0, 256, 4, dtype=np.uint8)) if count > 4 else payload
    else:
        payload += payload[: int(rng.integers(1, 64))]  # a repeated run: more output than the strip
    _set_array(ifd, 273, k, len(data))
    _set_array(ifd, 279, k, len(payload))
    return Mutant(ifd.bytes() + payload, f"strip {k} tail kind {kind} ({count}->{len(payload)})")


def _set_array(ifd: Ifd, tag: int, index: int, value: int) -> None:
    e = ifd.entry(tag)
    itemsize = 2 if e.type == 3 else 4
    base = e.at + 8 if e.count * itemsize <= 4 else e.value
    fmt = ifd.order + ("H" if itemsize == 2 else "I")
    struct.pack_into(fmt, ifd.data, base + itemsize * index, value % (1 << (8 * itemsize)))


def mutate_recompress(data: bytes, rng: np.random.Generator) -> Mutant:
    """A Deflate strip replaced by a valid stream of the wrong length, or a stream cut short."""
    ifd = Ifd(data)
    k = int(rng.integers(0, len(Strips.of(data).spans)))
    raw = bytes(rng.integers(0, 4, int(rng.integers(1, 3 * 96 * 96 * 2)), dtype=np.uint8))
    payload = zlib.compress(raw)
    if rng.random() < 0.3:
        payload = payload[: int(rng.integers(1, len(payload)))]
    _set_array(ifd, 273, k, len(data))
    _set_array(ifd, 279, k, len(payload))
    return Mutant(ifd.bytes() + payload, f"strip {k} -> zlib of {len(raw)} bytes")


def truncate(data: bytes, rng: np.random.Generator) -> Mutant:
    n = int(rng.integers(0, len(data)))
    return Mutant(data[:n], f"cut at {n}")


def bit_flips(data: bytes, rng: np.random.Generator) -> Mutant:
    work = bytearray(data)
    flips = []
    for _ in range(int(rng.integers(1, 9))):
        span = min(len(work), 512) if rng.random() < 0.6 else len(work)
        at = int(rng.integers(0, span))
        work[at] ^= 1 << int(rng.integers(0, 8))
        flips.append(at)
    return Mutant(bytes(work), f"bit flips {flips}")


def insert_delete(data: bytes, rng: np.random.Generator) -> Mutant:
    at = int(rng.integers(8, len(data)))
    n = int(rng.integers(1, 17))
    if rng.random() < 0.5:
        return Mutant(data[:at] + bytes(rng.integers(0, 256, n, dtype=np.uint8)) + data[at:],
                      f"insert {n} at {at}")
    return Mutant(data[:at] + data[at + n :], f"delete {n} at {at}")


MUTATORS: list[tuple[float, Callable[[bytes, np.random.Generator], Mutant]]] = [
    (0.05, mutate_header), (0.20, mutate_entry), (0.10, mutate_strip_array),
    (0.20, mutate_strip_bytes), (0.12, mutate_strip_tail), (0.05, mutate_recompress),
    (0.08, truncate), (0.12, bit_flips), (0.08, insert_delete),
]


def mutants(bases: list[bytes], count: int, seed: int = 0) -> Iterator[Mutant]:
    """count mutants of the bases, the same ones for the same (bases, count, seed)."""
    rng = np.random.default_rng(seed)
    weights = np.array([w for w, _ in MUTATORS])
    weights /= weights.sum()
    for i in range(count):
        base = bases[i % len(bases)]
        mutator = MUTATORS[int(rng.choice(len(MUTATORS), p=weights))][1]
        mutant = mutator(base, rng)
        if rng.random() < 0.15:  # sometimes a second mutation on top
            second = MUTATORS[int(rng.choice(len(MUTATORS), p=weights))][1]
            try:
                extra = second(mutant.data, rng)
                mutant = Mutant(extra.data, f"{mutant.how}; {extra.how}")
            except (KeyError, struct.error, ValueError, IndexError):
                pass  # the first mutation broke what the second needs: keep the first
        yield Mutant(mutant.data, f"base {i % len(bases)}: {mutant.how}")


@dataclass
class Disagreement:
    """A mutant on which the two roads differ."""

    how: str
    native: int
    reference: int
    pixels_differ: bool
    data: bytes


@dataclass
class Outcome:
    """What a differential run found."""

    checked: int = 0
    both_ok: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    disagreements: list[Disagreement] = field(default_factory=list)


def compare(mutant: Mutant, row: np.ndarray) -> tuple[int, Disagreement | None]:
    """Decode mutant by both roads: the public road's status, and a Disagreement when the two
    differ on status 0 or on the pixels."""
    from hcd_edge.decode import decode_bytes
    from hcd_edge.decode.reference import pixels_from_bytes

    native = decode_bytes(mutant.data, row)
    ref_status, pixels = pixels_from_bytes(mutant.data)
    ref = int(ref_status)
    if (native == 0) != (ref == 0):
        return native, Disagreement(mutant.how, native, ref, False, mutant.data)
    if native == 0 and not np.array_equal(row, pixels):
        return native, Disagreement(mutant.how, native, ref, True, mutant.data)
    return native, None


def run(bases: list[bytes], count: int, seed: int = 0) -> Outcome:
    """Decode count mutants of bases both ways; returns the tally and every disagreement."""
    import logging

    logging.getLogger("tifffile").setLevel(logging.CRITICAL)  # corrupt input logs by the line
    outcome = Outcome()
    row = np.empty((96, 96, 3), np.uint8)
    for mutant in mutants(bases, count, seed):
        status, found = compare(mutant, row)
        outcome.checked += 1
        if found is not None:
            outcome.disagreements.append(found)
            continue
        outcome.statuses[status] = outcome.statuses.get(status, 0) + 1
        outcome.both_ok += status == 0
    return outcome


def default_bases(real: bool, n_patches: int = 4) -> list[bytes]:
    """Bases from the real patches when asked and present, else from synthetic patches."""
    if real:
        from tests.realdata import SHARED_DATA

        if (SHARED_DATA / "unpack.sh").is_file():
            import subprocess

            done = subprocess.run(["bash", str(SHARED_DATA / "unpack.sh")], capture_output=True,
                                  text=True, check=True)
            folder = Path(done.stdout.strip().splitlines()[-1])
            files = real_files(folder, n_patches)
            from hcd_edge.decode.reference import pixels_from_bytes

            return encode_bases([pixels_from_bytes(f)[1] for f in files], files)
    return encode_bases(synthetic_patches(n_patches))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--real", action="store_true", help="mutate the real patches")
    parser.add_argument("--save", type=Path, help="write disagreeing mutants into this folder")
    args = parser.parse_args(argv)
    outcome = run(default_bases(args.real), args.count, args.seed)
    print(f"checked {outcome.checked}, both decoded {outcome.both_ok}, "
          f"disagreements {len(outcome.disagreements)}")
    print("statuses:", dict(sorted(outcome.statuses.items())))
    for d in outcome.disagreements[:40]:
        print(f"  native {d.native} reference {d.reference} pixels_differ {d.pixels_differ}: {d.how}")
    if args.save and outcome.disagreements:
        args.save.mkdir(parents=True, exist_ok=True)
        for i, d in enumerate(outcome.disagreements):
            (args.save / f"dis-{i:04d}.tif").write_bytes(d.data)
    return 1 if outcome.disagreements else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
