"""The API's documentation works on an intranet: `/docs` names only URLs of this app, the app serves every asset it
names with its proper content type, and no page that would load assets from a CDN (FastAPI's ReDoc) is offered."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

EXPECTED_TYPE = {".js": "javascript", ".css": "text/css", ".png": "image/png", ".json": "application/json"}


def _referenced_urls(html: str) -> list[str]:
    """Every URL the page makes the browser fetch: src and href attributes, Swagger UI's `url:`, ReDoc's spec-url."""
    patterns = [r'\b(?:src|href)="([^"]+)"', r"\burl:\s*'([^']+)'", r'\bspec-url="([^"]+)"']
    return [url for pattern in patterns for url in re.findall(pattern, html)]


def test_the_documentation_page_names_only_same_origin_urls(client: TestClient) -> None:
    page = "/docs"
    response = client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    urls = _referenced_urls(response.text)
    assert urls, "the page names no asset at all"
    for url in urls:
        assert url.startswith("/"), f"{page} loads {url} from another origin"
        assert not url.startswith("//"), f"{page} loads {url} from another origin"
    assert "://" not in response.text, "the page names an absolute URL"
    assert '"validatorUrl": null' in response.text, "Swagger UI would show a badge from validator.swagger.io"


def test_every_asset_the_documentation_page_names_is_served_with_its_type(client: TestClient) -> None:
    for url in _referenced_urls(client.get("/docs").text):
        response = client.get(url)
        assert response.status_code == 200, url
        suffix = re.search(r"\.\w+$", url)
        assert suffix is not None, url
        assert EXPECTED_TYPE[suffix.group()] in response.headers["content-type"], (url, response.headers)
        assert len(response.content) > 0, url


def test_the_swagger_ui_oauth2_redirect_page_is_served(client: TestClient) -> None:
    response = client.get("/docs/oauth2-redirect")
    assert response.status_code == 200
    assert "://" not in response.text.replace("window.location", "")


def test_no_redoc_page_is_offered_because_redoc_loads_its_logo_from_a_cdn(client: TestClient) -> None:
    assert client.get("/redoc").status_code == 404
