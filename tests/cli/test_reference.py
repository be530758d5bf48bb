"""The README's CLI reference is generated from click and kept in sync with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from hcd_edge.cli import main
from hcd_edge.cli.reference import END, START, reference_markdown, replace_block

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_cli_reference_matches_the_commands():
    block = README.read_text(encoding="utf-8").split(START, 1)[1].split(END, 1)[0]
    assert block == "\n" + reference_markdown(main), "run `make docs` to regenerate README.md"


def test_reference_covers_every_command_and_its_options():
    text = reference_markdown(main)
    for name in ("synth", "train", "export", "build-engine", "inspect", "score", "bench"):
        assert f"### `hcd-edge {name}`" in text
    assert "--calib-method" in text and "--tta" in text and "--resume" in text


def test_replace_block_keeps_the_text_around_the_markers():
    text = f"head\n{START}\nold\n{END}\ntail\n"
    assert replace_block(text, "new\n") == f"head\n{START}\nnew\n{END}\ntail\n"
    with pytest.raises(ValueError):
        replace_block("no markers", "x")
