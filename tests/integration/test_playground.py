"""The web playground and the API docs in a real headless Chromium, on the real server.

One ``music-reasoning serve`` (the embedded model, an API key) answers every test in
this module; Debian's ``chromium``, driven by Playwright with ``executable_path`` (its
own browser download is not used), opens ``/`` and uses each view as a person would:
typing, clicking, pressing keys.  Every page's request log must stay on 127.0.0.1.

A screenshot of each view goes to the test's tmp dir, and to the folder
``MUSIC_REASONING_SCREENSHOTS`` names when set (``MUSIC_REASONING_SCREENSHOTS=docs/playground
make test`` refreshes the ones docs/SERVER.md shows; a plain run leaves the tree clean).
Without Chromium or Playwright the tests fail, saying how to
install them: ``make test`` installs both on a fresh machine.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.integration.test_server import KEY, Served, start_server, stop_server

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Request

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1200, "height": 760}
WAIT_MS = 60_000
LOOPBACK = {"127.0.0.1"}


def chromium_path() -> str:
    """Debian's chromium, or a failure that says how to get it (never a skip)."""
    path = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    if path is None:
        pytest.fail(
            f"Chromium is not installed ({CHROMIUM} is missing), so the playground cannot be "
            "tested. `make test` installs it (apt-get install -y --no-install-recommends "
            "chromium, as root); or install Debian's chromium package yourself.",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="module")
def served(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = start_server(
        model_path, tmp_path_factory.mktemp("serve-ui"), "--api-key", KEY, "--parallel", "2"
    )
    try:
        yield server
    finally:
        stop_server(server.proc)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """Chromium with a fresh profile; pages are opened per test."""
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        pytest.fail(
            f"Playwright for Python is not installed ({exc}): it is in the dev extra, "
            "so `make test` (pip install -e '.[dev]') installs it.",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,  # type: ignore[arg-type]
        )
        context.set_default_timeout(WAIT_MS)
        try:
            yield context
        finally:
            context.close()


@dataclass
class Tab:
    """A page and everything it asked for, said or threw."""

    page: Page
    served: Served
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open(self, view: str, *, key: str | None = KEY) -> None:
        """Load ``/``, type the key (if any) and Enter, then click the view's tab."""
        self.page.goto(self.served.url + "/")
        self.page.wait_for_selector("body[data-ready='true']")
        if key is not None:
            self.page.fill("#api-key", key)
            self.page.press("#api-key", "Enter")
        self.page.click(f"#tab-{view}")
        assert self.page.is_visible(f"#view-{view}")

    def until(self, selector: str) -> None:
        """Wait until an element matches ``selector`` (shown or not)."""
        self.page.wait_for_selector(selector, state="attached")

    def text(self, selector: str) -> str:
        return self.page.inner_text(selector).strip()

    def outside(self) -> list[str]:
        return [url for url in self.requests if urlsplit(url).hostname not in LOOPBACK]


@pytest.fixture
def tab(browser: BrowserContext, served: Served) -> Iterator[Tab]:
    page = browser.new_page()
    opened = Tab(page, served)

    def on_request(request: Request) -> None:
        if not request.url.startswith(("data:", "blob:")):
            opened.requests.append(request.url)

    page.on("request", on_request)
    page.on("pageerror", lambda exc: opened.errors.append(f"page error: {exc}"))
    page.on(
        "console",
        lambda msg: (
            opened.errors.append(f"console {msg.type}: {msg.text}")
            if msg.type == "error" and "Failed to load resource" not in msg.text
            else None
        ),
    )
    try:
        yield opened
    finally:
        page.close()
    assert opened.outside() == [], "requests left 127.0.0.1"
    assert opened.errors == []


def screenshot(tab: Tab, name: str, tmp_path: Path, *, full_page: bool = True) -> None:
    """``NAME.png`` in ``tmp_path``, and in ``$MUSIC_REASONING_SCREENSHOTS`` when set."""
    target = tmp_path / f"{name}.png"
    tab.page.screenshot(path=str(target), full_page=full_page)
    assert target.stat().st_size > 5_000
    keep = os.environ.get("MUSIC_REASONING_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(target, Path(keep) / target.name)


def notes_on_keyboard(tab: Tab, scope: str) -> list[tuple[int, str]]:
    """The highlighted keys under ``scope``: (position in semitones, note name), low to high."""
    keys: list[dict[str, Any]] = tab.page.eval_on_selector_all(
        f"{scope} svg.keyboard rect.key.on",
        "rects => rects.map(r => ({position: Number(r.dataset.position), note: r.dataset.note}))",
    )
    return sorted((k["position"], k["note"]) for k in keys)


def fact(tab: Tab, name: str) -> str:
    """The value of a row of the Explore view's facts table."""
    return tab.text(f"#explore-result table.facts tr:has(th:text-is('{name}')) td")


#: Records (time, length) each time the answer grows.
WATCH_GROWTH = """() => {
  window.growth = [];
  const answer = document.getElementById("ask-answer");
  new MutationObserver(() => window.growth.push([performance.now(), answer.textContent.length]))
    .observe(answer, {childList: true, characterData: true, subtree: true});
}"""


# -- Ask -----------------------------------------------------------------------------------
def test_ask_streams_the_models_answer_token_by_token(tab: Tab, tmp_path: Path) -> None:
    tab.open("ask")
    tab.page.fill("#ask-question", "What is a plagal cadence?")
    tab.page.fill("#ask-max-tokens", "40")
    tab.page.evaluate(WATCH_GROWTH)
    tab.page.click("#ask-submit")
    tab.until("#ask-answer[data-state='done']")
    answer = tab.text("#ask-answer")
    assert len(answer) > 10
    chunks = int(tab.page.get_attribute("#ask-answer", "data-chunks") or 0)
    assert chunks >= 5
    growth: list[list[float]] = tab.page.evaluate("window.growth")
    moments = {round(at / 10) for at, _ in growth}  # 10 ms apart or more
    assert len(moments) >= 3, f"the answer did not grow token by token: {growth}"
    assert [size for _, size in growth] == sorted(size for _, size in growth)
    meta = tab.text("#ask-meta")
    assert "the model alone, unverified" in meta
    assert "finish: stop" in meta or "finish: length" in meta
    assert "tokens/s" in meta
    assert tab.page.get_attribute("#ask-answer", "aria-busy") == "false"
    screenshot(tab, "ask", tmp_path)


def test_ask_grounded_shows_the_source_and_that_it_is_verified(tab: Tab) -> None:
    tab.open("ask")
    tab.page.check("#ask-grounded")
    assert tab.page.is_hidden("#ask-max-tokens") and tab.page.is_visible("#ask-mode")
    tab.page.select_option("#ask-mode", "deterministic")
    tab.page.select_option("#ask-level", "beginner")
    tab.page.fill("#ask-question", "What notes are in a G7 chord?")
    tab.page.press("#ask-question", "Control+Enter")  # submit from the keyboard
    tab.until("#ask-answer[data-state='done']")
    meta = tab.text("#ask-meta")
    assert "source: deterministic" in meta and "not verified" not in meta and "verified" in meta
    assert "G, B, D and F" in tab.text("#ask-answer")
    assert tab.page.inner_text("#ask-answer h3 >> nth=0") == "What it is"


# -- errors, the key, keyboard use ---------------------------------------------------------
def test_errors_are_readable_and_the_key_field_is_used(tab: Tab) -> None:
    tab.open("explore", key=None)
    tab.page.click("#explore-submit")
    alert = tab.page.wait_for_selector("#explore-error [role='alert']")
    assert alert is not None
    assert tab.text("#explore-error .code") == "UNAUTHORIZED"
    assert "401" in alert.inner_text() and "API key" in alert.inner_text()
    assert tab.page.evaluate("document.activeElement.id") == "api-key"  # focus goes to the key

    tab.page.keyboard.type(KEY)
    tab.page.keyboard.press("Enter")
    tab.page.fill("#explore-chord", "H13#")
    tab.page.click("#explore-submit")
    tab.until("#explore-result[data-state='failed']")
    assert tab.text("#explore-error .code") == "INVALID_INPUT"
    assert tab.text("#explore-error .suggestion")  # the API's suggestion is shown

    tab.page.fill("#explore-chord", "C")
    tab.page.click("#explore-submit")
    tab.until("#explore-result[data-state='done']")
    assert tab.page.query_selector("#explore-error [role='alert']") is None


def test_tabs_follow_the_arrow_keys(tab: Tab) -> None:
    tab.open("ask")
    tab.page.focus("#tab-ask")
    tab.page.keyboard.press("ArrowRight")
    assert tab.page.get_attribute("#tab-explore", "aria-selected") == "true"
    assert tab.page.is_visible("#view-explore") and tab.page.is_hidden("#view-ask")
    tab.page.keyboard.press("End")
    assert tab.page.evaluate("document.activeElement.id") == "tab-metrics"
    assert tab.page.url.endswith("#metrics")


# -- Explore -------------------------------------------------------------------------------
def test_a_chord_shows_its_facts_keys_and_lesson(tab: Tab, tmp_path: Path) -> None:
    tab.open("explore")
    tab.page.fill("#explore-chord", "G7")
    tab.page.select_option("#explore-level", "beginner")
    tab.page.click("#explore-submit")
    tab.until("#explore-result[data-state='done']")
    assert fact(tab, "Notes") == "G B D F"
    assert fact(tab, "Quality") == "dominant seventh"
    assert fact(tab, "Intervals") == "P1 M3 P5 m7"
    keys = notes_on_keyboard(tab, "#explore-result")
    assert [note for _, note in keys] == ["G", "B", "D", "F"]  # voiced up from the root
    assert [position % 12 for position, _ in keys] == [7, 11, 2, 5]
    assert tab.page.get_attribute("#explore-result svg.keyboard", "aria-label") == (
        "G7: keyboard with G B D F highlighted"
    )
    result = tab.text("#explore-result")
    assert "source: deterministic" in result and "What it is" in result
    assert "It belongs to C major, where it is the V7 chord." in result
    screenshot(tab, "explore-chord", tmp_path)


def test_a_scale_lights_its_seven_keys(tab: Tab) -> None:
    tab.open("explore")
    tab.page.check("input[name='explore-kind'][value='scale']")
    assert tab.page.is_hidden("#explore-chord")
    tab.page.fill("#explore-root", "D")
    tab.page.fill("#explore-type", "dorian")
    tab.page.press("#explore-type", "Enter")
    tab.until("#explore-result[data-state='done']")
    assert fact(tab, "Steps") == "W-H-W-W-W-H-W"
    keys = notes_on_keyboard(tab, "#explore-result")
    assert [note for _, note in keys] == ["D", "E", "F", "G", "A", "B", "C"]
    assert [p % 12 for p, _ in keys] == [2, 4, 5, 7, 9, 11, 0]


def test_a_progression_shows_numerals_and_cadences(tab: Tab, tmp_path: Path) -> None:
    tab.open("explore")
    tab.page.check("input[name='explore-kind'][value='progression']")
    tab.page.fill("#explore-chords", "Dm7 G7 Cmaj7")
    tab.page.select_option("#explore-level", "advanced")
    tab.page.click("#explore-submit")
    tab.until("#explore-result[data-state='done']")
    numerals = tab.page.eval_on_selector_all(
        "#progression-chords .numeral", "cells => cells.map(c => c.textContent)"
    )
    assert numerals == ["ii7", "V7", "Imaj7"]
    assert tab.text("#explore-result h2 >> nth=0").startswith("In C major")
    assert "authentic: G7 → Cmaj7 (V7 → Imaj7)" in tab.text("#explore-result .cadences")
    assert "ii-V-I (jazz) in C major" in tab.text("#explore-result .patterns")
    minis = tab.page.query_selector_all("#explore-result figure.mini")
    assert len(minis) == 3
    assert len(minis[1].query_selector_all("rect.key.on")) == 4  # G7
    screenshot(tab, "explore-progression", tmp_path)


# -- Concepts ------------------------------------------------------------------------------
def test_concepts_list_and_read_in_a_key(tab: Tab, served: Served, tmp_path: Path) -> None:
    with served.http() as http:
        ids = http.get("/v1/theory/concepts").json()["concepts"]
    tab.open("concepts")
    tab.page.wait_for_selector("#concept-items button")
    assert tab.page.eval_on_selector_all("#concept-items button", "b => b.length") == len(ids)
    assert len(ids) > 50
    tab.page.fill("#concept-key", "Eb")
    tab.page.fill("#concept-filter", "tritone")
    shown = tab.page.eval_on_selector_all(
        "#concept-items button", "bs => bs.map(b => b.textContent)"
    )
    assert shown == ["tritone", "tritone substitution"]
    tab.page.click("#concept-items button:text-is('tritone substitution')")
    tab.until("#concept-article[data-concept='tritone-substitution']")
    article = tab.text("#concept-article")
    assert tab.text("#concept-article h2") == "tritone substitution"
    assert "bII7" in article and "Examples in Eb major" in article
    assert "ii7 - bII7 - Imaj7: Fm7 - Fb7 - Ebmaj7" in article
    assert tab.page.get_attribute("#concept-items button", "aria-current") is None
    assert (
        tab.page.get_attribute(
            "#concept-items button:text-is('tritone substitution')", "aria-current"
        )
        == "true"
    )
    screenshot(tab, "concepts", tmp_path)
    # a related concept opens from the article
    tab.page.click("#concept-article .related button:text-is('tritone')")
    tab.until("#concept-article[data-concept='tritone']")


# -- Metrics -------------------------------------------------------------------------------
def test_metrics_show_the_servers_numbers(tab: Tab, served: Served, tmp_path: Path) -> None:
    with served.http() as http:
        chat = {
            "model": served.model,
            "messages": [{"role": "user", "content": "What is a triad?"}],
            "max_tokens": 6,
        }
        assert http.post("/v1/chat/completions", json=chat).status_code == 200
        found = re.search(
            r"^music_reasoning_completion_tokens_total (\S+)$", http.get("/metrics").text, re.M
        )
        assert found is not None
        tokens = float(found.group(1))
    assert tokens >= 1
    tab.open("metrics")
    tab.until("body[data-metrics-polls='2']")  # two polls: a rate between them
    assert float(tab.text("#m-completion")) >= tokens
    assert tab.text("#m-queue") == "0" and tab.text("#m-active") == "0"
    assert tab.text("#m-loaded") == "yes"
    assert float(tab.text("#m-tps")) > 0
    assert float(tab.text("#m-rate")) >= 0  # a number once two polls are in
    assert int(tab.text("#m-requests")) >= 3
    rows = tab.page.eval_on_selector_all(
        "#metrics-requests tbody tr",
        "rows => rows.map(r => [...r.cells].map(c => c.textContent))",
    )
    assert ["/v1/chat/completions", "POST", "200"] in [row[:3] for row in rows]
    assert ["/metrics", "GET", "200"] in [row[:3] for row in rows]
    screenshot(tab, "metrics", tmp_path)
    # polling stops when the view closes
    tab.page.click("#tab-ask")
    polls = tab.page.evaluate("document.body.dataset.metricsPolls")
    time.sleep(2.5)
    assert tab.page.evaluate("document.body.dataset.metricsPolls") == polls


# -- /docs ---------------------------------------------------------------------------------
def test_api_docs_render_without_leaving_the_machine(tab: Tab, tmp_path: Path) -> None:
    tab.page.goto(tab.served.url + "/docs")
    tab.page.wait_for_selector(".swagger-ui .opblock-summary-path")
    paths = tab.page.eval_on_selector_all(
        ".swagger-ui .opblock-summary-path", "ps => ps.map(p => p.textContent)"
    )
    assert "/v1/chat/completions" in paths and "/v1/music/chord" in paths
    assert "music-reasoning" in tab.text(".swagger-ui .info .title")
    assert any(url.endswith("/docs-assets/swagger-ui-bundle.js") for url in tab.requests)
    assert any(url.endswith("/openapi.json") for url in tab.requests)
    assert tab.outside() == []
    screenshot(tab, "docs", tmp_path, full_page=False)


def test_the_page_and_its_files_need_no_key(served: Served) -> None:
    page = httpx.get(served.url + "/")
    assert page.status_code == 200 and "<title>music-reasoning playground</title>" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    script = httpx.get(served.url + "/playground/playground.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert httpx.get(served.url + "/metrics").status_code == 401  # the API still needs it
