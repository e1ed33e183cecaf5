"""``stabilize explore``: the audit commands' views under one keyboard (Textual).

Only the ``explore`` command imports this package; Textual is an optional extra
(``pip install 'stabilize-cli[tui]'``).
"""
