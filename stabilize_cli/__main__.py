"""`python -m stabilize_cli`."""

from stabilize_cli.cli.app import main

main()
