"""One module per command or command group; each only parses, queries and renders."""
