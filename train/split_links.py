"""A run's split list (split/holdout.csv, ...) as a Kaggle-layout folder of links, for the runtime CLI.

`hcd-edge build-engine --val`, `hcd-edge bench --val` and `hcd-edge score` read folders, so the
untouched holdout of a run is scored by linking its patches, never copying them:

    python -m hcd_edge.train.split_links runs/NAME/split/holdout.csv /tmp/holdout
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

from hcd_edge.errors import DataError
from hcd_edge.score.sources import KAGGLE_LABELS

KAGGLE_DIR = "train"


def read_split_list(list_csv: Path) -> list[tuple[str, int, Path]]:
    """(id, label, folder) rows of a split list written by `hcd-edge train`."""
    try:
        with open(list_csv, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise DataError(f"cannot read split list {list_csv}: {exc}") from exc
    if rows and not {"id", "label", "folder"} <= set(rows[0]):
        raise DataError(f"{list_csv} is not a split list (columns id,label,folder)")
    return [(r["id"], int(r["label"]), Path(r["folder"])) for r in rows]


def link_split_folder(list_csv: Path, out: Path) -> Path:
    """Write out/train/<id>.tif links to the listed Kaggle-layout patches and out/train_labels.csv."""
    rows = read_split_list(Path(list_csv))
    if not rows:
        raise DataError(f"split list {list_csv} lists no patches")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise DataError(f"{out} is not empty; choose a new folder")
    (out / KAGGLE_DIR).mkdir(parents=True, exist_ok=True)
    for pid, _, folder in rows:
        source = folder / KAGGLE_DIR / f"{pid}.tif"
        if not source.is_file():
            raise DataError(f"{source} (listed in {list_csv}) does not exist")
        os.symlink(source.resolve(), out / KAGGLE_DIR / f"{pid}.tif")
    lines = ["id,label"] + [f"{pid},{label}" for pid, label, _ in rows]
    (out / KAGGLE_LABELS).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line: LIST_CSV OUT_FOLDER."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("list_csv", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    try:
        out = link_split_folder(args.list_csv, args.out)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"linked {len(read_split_list(args.list_csv))} patches into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
