"""The newcomer's papercuts: top-level help, "did you mean", engine typos, and docs that agree
with the code (plot paths, the export hint, links, the torch index)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from click.testing import CliRunner

from hcd_edge.cli import main, similar_commands
from hcd_edge.cli.train import export_hint

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_top_level_help_shows_whole_descriptions_in_80_columns():
    result = CliRunner().invoke(main, ["--help"], terminal_width=80)
    commands = result.output.split("Commands:")[1].splitlines()
    assert len([c for c in commands if c.strip()]) >= 9
    for line in commands:
        assert len(line) <= 80 and not line.rstrip().endswith("..."), line


def test_unknown_command_suggests_the_close_ones():
    result = CliRunner().invoke(main, ["benchmark"])
    assert result.exit_code == 2 and "Did you mean 'bench'?" in result.output
    assert similar_commands("evalute", ["evaluate", "export", "score"]) == ["evaluate"]
    assert similar_commands("zzz", ["evaluate", "score"]) == []


def test_engine_typo_says_no_such_folder_and_lists_the_engines(tmp_path):
    from tests.score.helpers import make_tiny_engine, write_patch_folder

    make_tiny_engine(tmp_path / "engines" / "tiny-fp32")
    write_patch_folder(tmp_path / "p", 2)
    result = CliRunner().invoke(main, ["score", str(tmp_path / "p"), "--engine",
                                       str(tmp_path / "engines" / "tiny-fp3"), "--out", str(tmp_path / "s.csv")])
    assert result.exit_code == 1
    assert "no such engine folder" in result.stderr and "tiny-fp32" in result.stderr
    assert "manifest.json is missing" not in result.stderr


def test_readme_plot_paths_are_where_train_writes_them():
    tree = ast.parse((ROOT / "train" / "finish.py").read_text())
    plots = next(n.value.value for n in tree.body if isinstance(n, ast.Assign)
                 and any(getattr(t, "id", "") == "PLOTS" for t in n.targets))
    assert "runs/hcdnet/: best.pt" in README
    assert f"{plots}/{{curves,roc,confusion,samples}}.png" in README
    assert "runs/hcdnet/: best.pt, last.pt (resume with --resume), metrics.json/.csv, curves.png" not in README


def test_readme_export_step_is_the_command_train_suggests():
    assert export_hint(Path("runs/hcdnet")) in README


def test_engines_readme_links_to_existing_readme_sections():
    text = (ROOT / "engines" / "README.md").read_text()
    anchors = {_anchor(h) for h in re.findall(r"^#+ (.+)$", README, flags=re.MULTILINE)}
    links = re.findall(r"\(\.\./README\.md#([^)]+)\)", text)
    assert links and all(link in anchors for link in links), (links, sorted(anchors))


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_make_test_says_how_to_get_the_cpu_torch_build():
    makefile = (ROOT / "Makefile").read_text()
    assert "--index-url $(TORCH_INDEX)" in makefile
    assert "TORCH_INDEX=https://download.pytorch.org/whl/cpu" in README
    assert "(PyTorch CPU)" not in README
