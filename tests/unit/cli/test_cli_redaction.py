"""The CLI never prints a URL's password: log lines, error lines, --debug tracebacks, JSON."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from music_reasoning.cli.main import main
from tests.support.http_server import Behavior, FileServer

PASSWORD = "hunter2-s3cret"
SHA = "cd" * 32


@pytest.fixture
def missing() -> Iterator[FileServer]:
    """A loopback server that answers 404 to everything."""
    with FileServer(b"GGUF", Behavior(status=404)) as server:
        yield server


def secret_url(server: FileServer, name: str) -> str:
    return server.url.replace("http://", f"http://me:{PASSWORD}@").replace(
        "/model.bin", f"/{name}.gguf"
    )


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(var, raising=False)


def add_model(server: FileServer) -> None:
    urls = [secret_url(server, "a"), secret_url(server, "b")]
    args = ["models", "add", "mine", "--sha256", SHA]
    for url in urls:
        args += ["--url", url]
    assert main(args) == 0


@pytest.mark.parametrize("flags", [[], ["--debug"]])
def test_a_failed_pull_prints_no_password(
    missing: FileServer, capsys: pytest.CaptureFixture[str], flags: list[str]
) -> None:
    add_model(missing)
    capsys.readouterr()
    assert main([*flags, "models", "pull", "mine", "--quiet"]) == 8  # DOWNLOAD_FAILED
    err = capsys.readouterr().err
    assert len(missing.requests) >= 2  # both mirrors were tried, with the credentials
    assert "WARNING" in err and "error [DOWNLOAD_FAILED]" in err
    assert "http://***@127.0.0.1" in err
    assert PASSWORD not in err and "me:" not in err
    if flags:
        assert "Traceback" in err


def test_models_list_and_info_show_urls_without_password(
    missing: FileServer, capsys: pytest.CaptureFixture[str]
) -> None:
    add_model(missing)
    capsys.readouterr()
    assert main(["models", "info", "mine", "--json"]) == 0
    out = capsys.readouterr().out
    urls = json.loads(out)["variants"]["Q4_K_M"]["urls"]
    assert urls == [
        u.replace(f"me:{PASSWORD}", "***")
        for u in (secret_url(missing, "a"), secret_url(missing, "b"))
    ]
    for args in (["models", "info", "mine"], ["models", "list"], ["models", "list", "--json"]):
        assert main(args) == 0
        captured = capsys.readouterr()
        assert PASSWORD not in captured.out + captured.err


def test_the_cli_log_handler_masks_lines_from_any_module(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["models", "list"]) == 0
    capsys.readouterr()
    logging.getLogger("music_reasoning.elsewhere").warning(
        "fetching %s with Authorization: Bearer abcdef123456", "http://u:pw@host/x"
    )
    err = capsys.readouterr().err
    assert "abcdef123456" not in err and "u:pw" not in err
    assert "http://***@host/x" in err


def test_models_add_json_and_config_show_mask_passwords(
    missing: FileServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = secret_url(missing, "a")
    assert main(["models", "add", "mine", "--sha256", SHA, "--url", url, "--json"]) == 0
    added = capsys.readouterr()
    monkeypatch.setenv("MUSIC_REASONING_CLOUD_BASE_URL", f"http://me:{PASSWORD}@127.0.0.1:9/v1")
    monkeypatch.setenv("MUSIC_REASONING_TELEMETRY_ENDPOINT", f"http://t:{PASSWORD}@127.0.0.1:9/")
    assert main(["config", "show"]) == 0
    shown = capsys.readouterr()
    assert main(["config", "show", "--json"]) == 0
    as_json = capsys.readouterr()
    for out in (added, shown, as_json):
        assert PASSWORD not in out.out + out.err
    assert url.replace(f"me:{PASSWORD}", "***") in added.out
    assert "http://***@127.0.0.1:9/v1" in shown.out
    rows = json.loads(as_json.out)
    assert rows["cloud_base_url"]["value"] == "http://***@127.0.0.1:9/v1"
    assert rows["telemetry_endpoint"]["value"] == "http://***@127.0.0.1:9/"
