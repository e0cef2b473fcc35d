"""The playground page and the API docs: served from package data, nothing from a CDN."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from importlib.resources import files

from .conftest import MakeClient

SVG_NAMESPACE = "http://www.w3.org/2000/svg"  # a name, never fetched


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append(value)


def links(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.urls


def test_the_playground_is_served_at_the_root_with_its_files(make_client: MakeClient) -> None:
    client = make_client(api_key="k")  # the page needs no key; the API behind it does
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    urls = links(page.text)
    assets = [u for u in urls if u.startswith("/playground/")]
    assert sorted(assets) == ["/playground/playground.css", "/playground/playground.js"]
    for url in assets:
        assert client.get(url).status_code == 200
    assert all(u.startswith(("/", "#", "data:")) for u in urls), urls
    assert client.get("/metrics").status_code == 401


def test_the_playground_files_are_package_data_and_load_nothing_from_outside() -> None:
    static = files("music_reasoning.server") / "static"
    for name in ("index.html", "playground.js", "playground.css"):
        text = (static / name).read_text(encoding="utf-8").replace(SVG_NAMESPACE, "")
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text), name


def test_a_missing_file_is_the_json_404(make_client: MakeClient) -> None:
    r = make_client().get("/playground/nope.js")
    assert r.status_code == 404 and r.json()["error"]["code"] == "INVALID_INPUT"


def test_api_docs_load_swagger_ui_from_this_server(make_client: MakeClient) -> None:
    client = make_client()
    for page, asset in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
        html = client.get(page).text
        urls = re.findall(r"""(?:src|href)=["']?([^"' >]+)""", html)
        assert f"/docs-assets/{asset}" in urls, urls
        assert not any(u.startswith(("http:", "https:", "//")) for u in urls), urls
        assert "cdn" not in html.lower()
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs-assets/swagger-ui.css").status_code == 200
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")


def test_the_pages_are_not_in_the_api_schema(make_client: MakeClient) -> None:
    paths = make_client().get("/openapi.json").json()["paths"]
    assert "/" not in paths and not any(p.startswith(("/docs", "/playground")) for p in paths)


def test_static_files_are_counted_under_their_mount(make_client: MakeClient) -> None:
    client = make_client()
    client.get("/playground/playground.css")
    client.get("/no/such/path")
    text = client.get("/metrics").text
    assert re.search(
        r'http_requests_total\{method="GET",route="/playground/\{path\}",status="200"\}', text
    )
    assert re.search(r'http_requests_total\{method="GET",route="unmatched",status="404"\}', text)
