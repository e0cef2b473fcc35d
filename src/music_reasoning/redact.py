"""Keep secrets out of what the package prints, logs, raises and caches.

Three kinds of secret reach text here: a password in a URL (``http://user:pw@host/``),
a bearer token or API key echoed by a server, and the configured cloud key itself.
:func:`redact` removes all three from any text; :func:`redact_url` is the URL-only
form for values shown as URLs.  :class:`RedactingFilter` applies :func:`redact` to
every record a handler formats: the CLI installs it on its log handler, and modules
that handle URLs or server text redact at the source, so a library user's own
handlers get clean lines too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

__all__ = ["MASK", "RedactingFilter", "add_secret", "redact", "redact_url"]

MASK = "***"

# scheme://user[:password]@host — the userinfo part is replaced whole.
_USERINFO_RE = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<userinfo>[^/\s@]+)@")
# "Bearer <token>", "Authorization: <anything>", and the common API-key shapes.
_BEARER_RE = re.compile(r"(?i)\b(bearer|basic|token)(\s+|=|:\s*)[A-Za-z0-9._~+/=\-]{6,}")
_AUTH_HEADER_RE = re.compile(r"(?i)\b(authorization|x-api-key|api[-_]?key)(\"?\s*[:=]\s*\"?)[^\s\",}]+")
_KEY_SHAPES_RE = re.compile(r"\b(sk|pk|rk|hf|gh[pousr])[-_][A-Za-z0-9_\-]{8,}")
# query parameters that carry credentials
_QUERY_RE = re.compile(r"(?i)([?&](?:access_token|token|api_key|apikey|key|sig|signature)=)[^&\s]+")

_extra: set[str] = set()


def add_secret(value: str | None) -> None:
    """Always mask ``value`` (a configured key) from now on; short values are ignored."""
    if value and len(value) >= 4:
        _extra.add(value)


def redact_url(url: str) -> str:
    """``url`` with any ``user:password@`` and credential query parameters masked."""
    url = _USERINFO_RE.sub(lambda m: f"{m['scheme']}{MASK}@", url)
    return _QUERY_RE.sub(lambda m: f"{m[1]}{MASK}", url)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with URL credentials, bearer tokens, API keys and ``secrets`` masked."""
    for secret in sorted({*_extra, *(s for s in secrets if s and len(s) >= 4)}, key=len,
                         reverse=True):
        text = text.replace(secret, MASK)
    text = redact_url(text)
    text = _AUTH_HEADER_RE.sub(lambda m: f"{m[1]}{m[2]}{MASK}", text)
    text = _BEARER_RE.sub(lambda m: f"{m[1]}{m[2]}{MASK}", text)
    return _KEY_SHAPES_RE.sub(MASK, text)


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in the formatted message (and drops args)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is logging's business, not ours
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True
