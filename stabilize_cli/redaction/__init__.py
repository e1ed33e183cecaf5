"""Hiding secrets in values read from the store, before anything renders them.

The engine stores declared secrets in cleartext, so this is the last defence (reliability
matrix, RD). Pure: no I/O, no Typer or Rich. A :class:`Redactor` walks JSON-like values
at every depth with an explicit stack (no depth cap: a payload nested 100,000 deep is
still walked, never skipped), replaces each secret with :data:`MARK` and counts what it
hid. Three rules, each a class of secrets rather than a list of examples:

- key names (:mod:`.keys`), case-insensitive, separators ignored: a key containing a long
  name (``db_password``, ``X-Api-Key``, ``passphrase``, ``card_number``) or having a short
  one as a whole word (``ssh_key``, ``db_pass``, ``mfa_code``, ``signingSalt``; not
  ``author``, ``monkey``, ``keyboard``, ``pinned``, ``opinion``) has its value hidden,
  whatever its type (``None`` and ``""`` hide nothing and stay);
- value patterns (:mod:`.patterns`), whatever the key, also inside longer strings, hiding
  only the secret part: such a name in ``NAME=value``, ``"name": value``, ``--name value``
  or "the name is value" forms, ``user:password@`` with or without a scheme, ``curl -u``,
  secret-named query parameters, ``Bearer``/``Basic`` credentials, JWTs, PEM private
  keys, and tokens known by their vendor's prefix;
- declared secrets (:mod:`.declared`): a workflow's ``"secrets": [names]``; those keys are
  hidden, and their literal values wherever they appear in that workflow's text, also
  URL-encoded, JSON-escaped or inside base64. When the declaration may not have been read
  whole (``DeclaredSecrets.unread``), every string and number of the workflow is hidden
  but those under a structural key (:data:`.keys.STRUCTURAL_KEYS`).
"""

from .declared import (
    DECLARATION_KEY,
    MIN_LITERAL,
    NO_SECRETS,
    DeclaredSecrets,
    declarations,
    values_under,
)
from .keys import MARK, is_secret_key
from .redactor import Redactor

__all__ = [
    "DECLARATION_KEY",
    "MARK",
    "MIN_LITERAL",
    "NO_SECRETS",
    "DeclaredSecrets",
    "Redactor",
    "declarations",
    "is_secret_key",
    "values_under",
]
