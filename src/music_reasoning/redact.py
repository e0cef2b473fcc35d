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

__all__ = ["MASK", "RedactingFilter", "add_secret", "mask_secrets", "redact", "redact_url"]

MASK = "***"

# scheme://user[:password]@host — the userinfo part is replaced whole.
_USERINFO_RE = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<userinfo>[^/\s@]+)@")
# A header (or JSON/dict key) that carries a credential: its whole value goes, including
# an auth scheme word ("Authorization: Bearer abc" -> "Authorization: ***").
_AUTH_HEADER_RE = re.compile(
    r"(?i)\b(?P<name>proxy-authorization|authorization|x-api-key|api[-_]?key|access[-_]?token)"
    r"(?P<sep>[\"']?\s*[:=]\s*[\"']?)"
    r"(?:(?:bearer|basic|token|digest)\s+)?[^\s\"',;}\]]+"
)
# "Bearer <token>" anywhere; "token=<t>" / "token: <t>" (not "token passing").
_BEARER_RE = re.compile(r"(?i)\b(?P<word>bearer)(?P<sep>\s+)[A-Za-z0-9._~+/=\-]{6,}")
_TOKEN_RE = re.compile(r"(?i)\b(?P<word>token)(?P<sep>=|:\s*)[A-Za-z0-9._~+/=\-]{6,}")
# "Basic <base64>": only a base64 run with an upper-case letter or a digit after its first
# character, so prose ("Basic triads") is left alone.
_BASIC_RE = re.compile(
    r"\b(?P<word>Basic)(?P<sep>\s+)[A-Za-z0-9+/](?=[A-Za-z0-9+/]*[A-Z0-9+/])[A-Za-z0-9+/]{7,}={0,2}"
)
_KEY_SHAPES_RE = re.compile(r"\b(?:sk|pk|rk|hf|gh[pousr])[-_][A-Za-z0-9_\-]{8,}")
# query parameters that carry credentials, including a presigned URL's (S3, GCS and
# CloudFront signatures, credentials, session tokens and policies: a hub's file download
# redirects to such a URL, and its signature grants the download)
_QUERY_RE = re.compile(
    r"(?i)([?&](?:access_token|token|api_key|apikey|key|sig|signature|password"
    r"|x-amz-signature|x-amz-credential|x-amz-security-token"
    r"|x-goog-signature|x-goog-credential|policy|key-pair-id)=)[^&\s#]+"
)

_extra: set[str] = set()
_MIN_SECRET = 4


def add_secret(value: str | None) -> None:
    """Always mask ``value`` (a configured key) from now on; short values are ignored."""
    if value and len(value) >= _MIN_SECRET:
        _extra.add(value)


def redact_url(url: str) -> str:
    """``url`` with any ``user:password@`` and credential query parameters masked."""
    url = _USERINFO_RE.sub(lambda m: f"{m['scheme']}{MASK}@", url)
    return _QUERY_RE.sub(lambda m: f"{m[1]}{MASK}", url)


def mask_secrets(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with only the exact ``secrets`` (and those from :func:`add_secret`) masked.

    For text that is not an error or a log line (a model's answer): the pattern rules of
    :func:`redact` could change ordinary prose there.
    """
    wanted = {*_extra, *(s for s in secrets if s and len(s) >= _MIN_SECRET)}
    for secret in sorted(wanted, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with URL credentials, bearer tokens, API keys and ``secrets`` masked."""
    text = mask_secrets(text, secrets)
    text = redact_url(text)
    text = _AUTH_HEADER_RE.sub(lambda m: f"{m['name']}{m['sep']}{MASK}", text)
    for rule in (_BEARER_RE, _TOKEN_RE, _BASIC_RE):
        text = rule.sub(lambda m: f"{m['word']}{m['sep']}{MASK}", text)
    return _KEY_SHAPES_RE.sub(MASK, text)


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in the formatted message and traceback.

    The message is formatted once and its arguments dropped; a traceback attached to
    the record (``exc_info``) is formatted here and masked too, so ``--debug`` output
    does not show a URL's password from an exception's text.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is logging's business, not ours
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
