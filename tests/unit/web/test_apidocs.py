"""/docs and /redoc load every asset from the server itself, and those assets are served."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from batteryloop.web.apidocs import install_offline_docs

URL_ATTR = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
SPEC_URL = re.compile(r"""(?:url:|spec-url=)\s*["']([^"']+)["']""")


def _app(**kwargs: object) -> FastAPI:
    app = FastAPI(title="Test API", **kwargs)  # type: ignore[arg-type]

    @app.get("/ping")
    def ping() -> dict[str, bool]:
        return {"ok": True}

    return app


def _local_urls(html: str) -> list[str]:
    urls = URL_ATTR.findall(html) + SPEC_URL.findall(html)
    assert urls, "the page references no assets"
    return urls


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_reference_only_local_urls_that_answer(page: str) -> None:
    app = _app()
    install_offline_docs(app)
    client = TestClient(app)

    response = client.get(page)
    assert response.status_code == 200
    html = response.text
    assert "cdn.jsdelivr.net" not in html and "fonts.googleapis.com" not in html
    assert "http://" not in html and "https://" not in html
    for url in _local_urls(html):
        assert url.startswith("/") and not url.startswith("//"), url
        assert client.get(url).status_code == 200, url


def test_swagger_ui_assets_are_the_real_bundle() -> None:
    app = _app()
    install_offline_docs(app)
    client = TestClient(app)
    js = client.get("/_apidocs/swagger-ui-bundle.js")
    assert js.status_code == 200
    assert "javascript" in js.headers["content-type"]
    assert "SwaggerUIBundle" in js.text
    css = client.get("/_apidocs/swagger-ui.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    assert '"validatorUrl": null' in client.get("/docs").text  # no badge fetched from the online validator


def test_the_default_cdn_pages_are_gone_and_redoc_can_be_disabled() -> None:
    app = _app(docs_url="/api-docs")
    install_offline_docs(app, redoc_url=None)
    client = TestClient(app)
    assert client.get("/api-docs").status_code == 404
    assert client.get("/redoc").status_code == 404
    assert client.get("/docs").status_code == 200
    assert [r.path for r in app.routes].count("/docs") == 1
    assert app.openapi()["paths"].keys() == {"/ping"}


def test_urls_follow_the_root_path_behind_a_proxy() -> None:
    app = _app()
    install_offline_docs(app)
    client = TestClient(app, root_path="/bl")
    html = client.get("/docs").text
    urls = _local_urls(html)
    assert all(u.startswith("/bl/") for u in urls), urls
    assert "/bl/openapi.json" in urls


def test_an_app_without_openapi_is_refused() -> None:
    with pytest.raises(ValueError, match="openapi_url is None"):
        install_offline_docs(_app(openapi_url=None))
