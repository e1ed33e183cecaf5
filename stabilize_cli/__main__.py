"""`python -m stabilize_cli`."""

from stabilize_cli.cli.quick_complete import main

main()
