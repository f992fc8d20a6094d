"""`python -m chunktape` runs the CLI."""

from chunktape.cli import main

main()
