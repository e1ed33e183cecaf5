"""Hiding secrets in values read from the store, before anything renders them.

The engine stores declared secrets in cleartext, so this is the last defence (reliability
matrix, RD). Pure: no I/O, no Typer or Rich. A :class:`Redactor` walks JSON-like values
at every depth with an explicit stack (no depth cap: a payload nested 100,000 deep is
still walked, never skipped), replaces each secret with :data:`MARK` and counts what it
hid. Three rules:

- key names (:mod:`.keys`), case-insensitive, separators ignored: a key containing a long
  name (``db_password``, ``X-Api-Key``) or having a short one as a whole word
  (``ssh_key``, ``authKey``; not ``author``, ``monkey``, ``keyboard``, ``keys``) has its
  value hidden, whatever its type (``None`` and ``""`` hide nothing and stay);
- value patterns (:mod:`.patterns`), whatever the key, also inside longer strings, hiding
  only the secret part: URL userinfo, secret-named query parameters, ``Bearer``/``Basic``
  credentials, JWTs, PEM private keys, AWS access key ids, GitHub and Slack tokens, and
  ``password=...`` / ``"token": "..."`` written into free text;
- declared secrets (:mod:`.declared`): a workflow's ``"secrets": [names]``; those keys are
  hidden, and their literal values wherever they appear in that workflow's text.
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
