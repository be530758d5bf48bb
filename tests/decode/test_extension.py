"""The compiled extension is present (unless opted out) and shares the Python status codes."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from hcd_edge import decode
from hcd_edge.decode import DecodeStatus, status_message
from hcd_edge.decode.status import NEEDS_FALLBACK
from tests.decode.conftest import require_native

HEADER = Path(__file__).resolve().parents[2] / "csrc" / "tiffdec.h"


def test_native_extension_is_built_unless_skip_native_was_asked_for():
    if os.environ.get("HCD_EDGE_SKIP_NATIVE") == "1":
        assert decode.native_unavailable_reason() is None or not decode.native_available()
        pytest.skip("HCD_EDGE_SKIP_NATIVE=1: running on the tifffile road by request")
    assert decode.native_available(), decode.native_unavailable_reason()
    assert decode.native_unavailable_reason() is None


def test_c_status_codes_equal_the_python_ones():
    codes = dict(re.findall(r"HCD_([A-Z0-9_]+) = (\d+)", HEADER.read_text()))
    for status in DecodeStatus:
        assert int(codes[status.name]) == status.value, status.name
    assert int(codes["NEEDS_FALLBACK"]) == NEEDS_FALLBACK
    assert NEEDS_FALLBACK not in {s.value for s in DecodeStatus}


def test_extension_exports_the_same_internal_markers():
    require_native()
    from hcd_edge import _tiffdec

    assert _tiffdec.NEEDS_FALLBACK == NEEDS_FALLBACK
    from hcd_edge.decode.reference import MAX_PATCH_FILE_BYTES

    assert _tiffdec.MAX_FILE_BYTES == MAX_PATCH_FILE_BYTES


def test_every_status_has_a_message_a_person_understands():
    for status in DecodeStatus:
        assert status_message(status) and "unknown" not in status_message(status)
    assert "unknown" in status_message(NEEDS_FALLBACK)


def test_missing_extension_reason_says_how_to_build_it(monkeypatch):
    monkeypatch.setattr(decode, "_native", None)
    monkeypatch.setattr(decode, "_NATIVE_IMPORT_ERROR", "ImportError: no module")
    assert not decode.native_available()
    assert "pip install -e ." in decode.native_unavailable_reason()


NO_EXTENSION = """
import sys, warnings
sys.modules["hcd_edge._tiffdec"] = None  # makes `from .. import _tiffdec` raise ImportError
warnings.simplefilter("always")
import numpy as np
import hcd_edge.decode as d
out = np.empty((1, 96, 96, 3), np.uint8)
print("native", d.native_available(), "status", int(d.decode_batch([sys.argv[1]], out)[0]))
"""


@pytest.mark.parametrize("skip_native", [None, "1"])
def test_without_the_extension_decoding_still_works_and_warns_unless_opted_out(tmp_path, skip_native):
    import subprocess
    import sys

    from tests.decode.tiffbytes import kaggle_tiff

    patch = tmp_path / "p.tif"
    patch.write_bytes(kaggle_tiff())
    env = {k: v for k, v in os.environ.items() if k != "HCD_EDGE_SKIP_NATIVE"}
    if skip_native:
        env["HCD_EDGE_SKIP_NATIVE"] = skip_native
    done = subprocess.run([sys.executable, "-c", NO_EXTENSION, str(patch)], capture_output=True,
                          text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "native False status 0" in done.stdout
    warned = "RuntimeWarning" in done.stderr and "pip install -e ." in done.stderr
    assert warned == (skip_native is None), done.stderr
