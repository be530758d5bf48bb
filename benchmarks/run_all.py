"""`make bench`: every comparative benchmark in turn, then benchmarks/REPORT.md.

    python -m benchmarks.run_all [--quick] [--only decode,inference,end_to_end,slide]

Each benchmark runs in its own process (so one's threads and caches do not colour the next)
and writes benchmarks/results/<name>.json; the report is rendered from those files.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from benchmarks.machine import RESULTS_DIR, ROOT

# name -> (module, arguments for a full run, arguments for --quick)
BENCHMARKS = {
    "decode": ("benchmarks.decode", [], ["--quick"]),
    "inference": ("benchmarks.inference", [], ["--models", "starter,cnn", "--batch", "1,64",
                                                "--seconds", "1"]),
    "end_to_end": ("benchmarks.end_to_end", [], ["--n", "1000", "--null-n", "5000", "--repeats", "1",
                                                 "--seconds", "2"]),
    "slide": ("benchmarks.slide", [], ["--repeats", "1"]),
}


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks, then render the report; exit 1 if any benchmark failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (a smoke test of the suite)")
    parser.add_argument("--only", default=",".join(BENCHMARKS))
    args = parser.parse_args(argv)
    failed = []
    for name in args.only.split(","):
        module, full, quick = BENCHMARKS[name]
        cmd = [sys.executable, "-m", module, *(quick if args.quick else full),
               "--json", str((RESULTS_DIR / f"{name}.json").relative_to(ROOT))]
        print(f"\n== {name}: {' '.join(cmd[1:])}", flush=True)
        started = time.perf_counter()
        if subprocess.run(cmd, cwd=ROOT, check=False).returncode != 0:
            failed.append(name)
        print(f"== {name} took {time.perf_counter() - started:.0f} s", flush=True)
    from benchmarks.report import main as report_main

    report_main()
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
