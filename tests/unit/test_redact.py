"""Secrets never reach printed text: URL passwords, bearer tokens, API keys, configured keys."""

from __future__ import annotations

import io
import logging

import pytest

from music_reasoning.redact import (
    MASK,
    RedactingFilter,
    add_secret,
    mask_secrets,
    redact,
    redact_url,
)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:pw@host/x.gguf", "http://***@host/x.gguf"),
        ("https://tok@host:8443/a/b", "https://***@host:8443/a/b"),
        ("https://host/x.gguf?token=abc&rev=main", "https://host/x.gguf?token=***&rev=main"),
        ("https://host/x?X-Amz-Signature=1&sig=zz", "https://host/x?X-Amz-Signature=***&sig=***"),
        (  # a presigned S3 URL (a hub's download redirect): every credential part goes
            "https://cdn/x.gguf?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F1"
            "&X-Amz-Date=20260101T000000Z&X-Amz-Expires=3600&X-Amz-Security-Token=FwoG1"
            "&X-Amz-SignedHeaders=host&X-Amz-Signature=ab12",
            "https://cdn/x.gguf?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=***"
            "&X-Amz-Date=20260101T000000Z&X-Amz-Expires=3600&X-Amz-Security-Token=***"
            "&X-Amz-SignedHeaders=host&X-Amz-Signature=***",
        ),
        (  # names are matched whatever their case
            "https://cdn/x?x-amz-signature=ab&X-GOOG-SIGNATURE=cd&x-goog-credential=ef",
            "https://cdn/x?x-amz-signature=***&X-GOOG-SIGNATURE=***&x-goog-credential=***",
        ),
        (  # a CloudFront signed URL
            "https://cdn/x?Expires=1&Signature=ab~c&Key-Pair-Id=K2&Policy=eyJ9",
            "https://cdn/x?Expires=1&Signature=***&Key-Pair-Id=***&Policy=***",
        ),
        ("https://host/path@v2/x.gguf", "https://host/path@v2/x.gguf"),  # '@' in the path
        ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    ("text", "secret_part"),
    [
        ("Authorization: Bearer abcdef123456", "abcdef123456"),
        ('{"authorization": "Bearer s3cr3t-token-value"}', "s3cr3t-token-value"),
        ("{'Authorization': 'Basic dXNlcjpwYXNz'}", "dXNlcjpwYXNz"),
        ("you sent Bearer zzzzzzzzzzzz, which is wrong", "zzzzzzzzzzzz"),
        ("key sk-proj-0123456789abcdef is invalid", "sk-proj-0123456789abcdef"),
        ("hf_AbCdEfGhIjKlMnOp rejected", "hf_AbCdEfGhIjKlMnOp"),
        ("x-api-key=plainvalue99 refused", "plainvalue99"),
        ("token: abcdefghij was revoked", "abcdefghij"),
        ("GET http://me:hunter22@mirror/x.gguf failed", "hunter22"),
        ("header Basic dXNlcjpwYXNzd29yZA== refused", "dXNlcjpwYXNzd29yZA=="),
    ],
)
def test_redact_masks_credentials(text: str, secret_part: str) -> None:
    clean = redact(text)
    assert secret_part not in clean
    assert MASK in clean


@pytest.mark.parametrize(
    "prose",
    [
        "Basic triads are built from stacked thirds.",
        "A token passing scheme is not music.",
        "The bearer of the melody is the soprano.",
        "G7 resolves to C; see http://example.org/theory#dominant.",
    ],
)
def test_redact_leaves_ordinary_text_alone(prose: str) -> None:
    assert redact(prose) == prose


def test_explicit_and_added_secrets_are_masked_anywhere() -> None:
    assert redact("the key was plain-k3y!", ["plain-k3y!"]) == f"the key was {MASK}"
    assert redact("abc", ["abc"]) == "abc"  # too short to be a key worth masking
    add_secret("configured-key-5521")
    assert "configured-key-5521" not in redact("echo: configured-key-5521")
    assert mask_secrets("Basic triads, configured-key-5521") == f"Basic triads, {MASK}"


def test_filter_masks_messages_arguments_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter())
    log = logging.getLogger("test_redact.filter")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("giving up on %s", "http://user:pw@host/x.gguf")
        try:
            raise ConnectionError("GET http://user:pw@host/x.gguf: Bearer abcdefgh12345")
        except ConnectionError:
            log.exception("failed")
        log.warning("plain %d%%", 5)
    finally:
        log.removeHandler(handler)
    out = stream.getvalue()
    assert "pw@" not in out and "abcdefgh12345" not in out
    assert "http://***@host/x.gguf" in out and "ConnectionError" in out
    assert "plain 5%" in out
