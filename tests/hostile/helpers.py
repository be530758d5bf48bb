"""Running hcd-edge as a careless or hostile user would, and checking it failed cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner, Result

from hcd_edge.cli import main


def cli(*args) -> Result:
    """`hcd-edge ARGS` in this process (stdout and stderr both in result.output)."""
    return CliRunner().invoke(main, [os.fsdecode(a) if isinstance(a, bytes) else str(a) for a in args])


def assert_clean(result: Result, code: int, *says: str) -> None:
    """Exit code `code`, no traceback, no escaped exception, and every `says` text in the output."""
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output, result.output
    for text in says:
        assert text in result.output, f"{text!r} not in:\n{result.output}"


def spawn(args, cwd: Path, **kwargs) -> subprocess.Popen:
    """`python -m hcd_edge ARGS` as a separate process (the same entry point as `hcd-edge`)."""
    env = {**os.environ, "HCD_EDGE_CACHE_DIR": str(cwd / "cache")}
    env.pop("HCD_EDGE_STARTER_MODEL", None)
    return subprocess.Popen([sys.executable, "-m", "hcd_edge", *map(str, args)], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def snapshot(*paths: Path) -> dict:
    """Content, inode and mtime of each path (to prove nothing was touched)."""
    out = {}
    for p in paths:
        st = os.lstat(p)
        content = p.read_bytes() if p.is_file() and not p.is_symlink() else os.readlink(p) if p.is_symlink() else None
        out[str(p)] = (st.st_ino, st.st_mtime_ns, st.st_mode, content)
    return out
