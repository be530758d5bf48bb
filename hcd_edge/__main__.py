"""`python -m hcd_edge` and the `hcd-edge` script: the command line, Ctrl-C safe from the start."""

import sys

EXIT_INTERRUPTED = 130


def run() -> None:
    """Entry point: a Ctrl-C even while the modules load exits 130 with one line, no traceback."""
    try:
        from hcd_edge.cli import main
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
    main()


if __name__ == "__main__":
    run()
