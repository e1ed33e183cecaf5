"""The only package that imports Typer: parsing, error mapping, command registration."""
