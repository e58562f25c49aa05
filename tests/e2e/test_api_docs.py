"""The browsable API docs are served from vendored files, never from a CDN."""

import re


def test_docs_page_loads_its_assets_locally(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(s.endswith("swagger-ui-bundle.js") for s in sources)
    assert all(not s.startswith(("http://", "https://", "//")) for s in sources), sources
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200, source
        assert len(asset.data) > 1000


def test_docs_page_points_at_the_openapi_document(client):
    html = client.get("/api/docs").get_data(as_text=True)
    assert "/api/v1/openapi.json" in html
