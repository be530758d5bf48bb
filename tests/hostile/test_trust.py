"""Item 19 of issue 11: an engine folder may come from elsewhere; its engine file must be a
plain file inside it, or the engine is refused before anything is read."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from hcd_edge.manifest import MANIFEST_NAME
from tests.hostile.helpers import assert_clean, cli


def _point_engine_file(engine, value: str) -> None:
    manifest = engine / MANIFEST_NAME
    data = json.loads(manifest.read_text())
    data["engine_file"] = value
    manifest.write_text(json.dumps(data))


@pytest.mark.parametrize("where", ["climbs out with ..", "absolute path", "symbolic link", "subfolder",
                                   "the folder itself", "empty", "a FIFO"])
@pytest.mark.parametrize("command", ["score", "inspect", "bench"])
def test_an_engine_file_outside_its_folder_is_refused(where, command, own_engine, patches, tmp_path):
    outside = tmp_path / "outside.onnx"
    shutil.copy(own_engine / "model.onnx", outside)  # same bytes: the hash check alone would pass
    value = {"climbs out with ..": "../outside.onnx", "absolute path": str(outside),
             "symbolic link": "link.onnx", "subfolder": "sub/model.onnx", "the folder itself": ".",
             "empty": "", "a FIFO": "fifo.onnx"}[where]
    if where == "symbolic link":
        (own_engine / "link.onnx").symlink_to(outside)
    elif where == "subfolder":
        (own_engine / "sub").mkdir()
        shutil.copy(outside, own_engine / "sub" / "model.onnx")
    elif where == "a FIFO":
        os.mkfifo(own_engine / "fifo.onnx")
    _point_engine_file(own_engine, value)
    args = {"score": ["score", patches, "--engine", own_engine, "--out", tmp_path / "s.csv"],
            "inspect": ["inspect", own_engine],
            "bench": ["bench", own_engine, "--patches", patches, "--batch", "1", "--seconds", "0.01",
                      "--warmup", "0"]}[command]
    result = cli(*args)
    assert_clean(result, 1)
    assert "refused" in result.output, result.output
    assert not (tmp_path / "s.csv").exists()
