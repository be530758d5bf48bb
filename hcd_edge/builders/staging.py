"""Build into a temporary folder beside the output and rename it into place only when complete."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hcd_edge.errors import EngineError

FAILED_REPORT_SUFFIX = ".parity-failed.json"


def failed_report_path(out: Path) -> Path:
    """Where a build that failed its parity gate leaves its report: <out>.parity-failed.json."""
    return out.parent / f"{out.name}{FAILED_REPORT_SUFFIX}"


class Staging:
    """Context manager: yields a fresh temporary folder next to `out`; commit() moves it onto `out`.

    Leaving the block without commit() (an error, a failed gate) removes the temporary folder,
    so nothing half-written is ever found at `out`.
    """

    def __init__(self, out: Path, force: bool):
        self.out = Path(out)
        self.force = force
        self.work: Path | None = None
        self._committed = False

    def __enter__(self) -> Path:
        check_output_free(self.out, self.force)
        try:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            self.work = Path(
                tempfile.mkdtemp(prefix=f".{self.out.name}.building-", dir=self.out.parent)
            )
            self.work.chmod(0o755)  # mkdtemp makes it private; the engine folder is not
        except OSError as exc:
            raise EngineError(f"cannot create a build folder beside {self.out}: {exc}") from exc
        return self.work

    def commit(self) -> None:
        """Replace `out` with the finished temporary folder (the old one, with force, goes)."""
        if self.work is None:
            raise RuntimeError("Staging.commit() called outside its with block")
        old = None
        if self.out.exists():
            check_output_free(self.out, self.force)
            old = self.out.parent / f".{self.out.name}.replaced-{self.work.name}"
            self.out.rename(old)
        self.work.rename(self.out)
        self._committed = True
        if old is not None:
            shutil.rmtree(old)
        failed_report_path(self.out).unlink(missing_ok=True)

    def __exit__(self, *exc: object) -> None:
        if self.work is not None and not self._committed:
            # Our own temporary folder: removing it must not hide the error that brought us here.
            shutil.rmtree(self.work, ignore_errors=True)


def check_output_free(out: Path, force: bool) -> None:
    """Refuse an existing output unless force (and never a file or a non-engine folder)."""
    if not out.exists():
        return
    if not force:
        raise EngineError(
            f"{out} already exists; choose another --out or add --force to replace it"
        )
    if not out.is_dir() or not (out / "manifest.json").is_file():
        raise EngineError(
            f"{out} exists and is not an engine folder; --force replaces engine folders only"
        )
