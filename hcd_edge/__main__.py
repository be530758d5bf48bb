"""`python -m hcd_edge` runs the hcd-edge command line."""

from hcd_edge.cli import main

if __name__ == "__main__":
    main()
