"""The /analytics/network page (example instance, posted TOML/JSON or file; map-like SVG, utilisation, cost per
tonne; CSV/XLSX export) and the triage page's CSV upload, in English and Chinese, with errors naming the
field or saying why no plan exists."""

from __future__ import annotations

import io
import json
import re
import tomllib
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from batteryloop.analytics import report, service

EXAMPLES = Path(__file__).parents[3] / "src" / "batteryloop" / "analytics" / "examples"
EXAMPLE = (EXAMPLES / "network_example.toml").read_text(encoding="utf-8")


def test_network_page_shows_the_example_plan_with_map_and_utilisation(client: Any) -> None:
    page = client.get("/analytics/network")
    assert page.status_code == 200, page.text
    python = report.network_to_dict(service.design_network(tomllib.loads(EXAMPLE)))
    html = page.text
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in html and 'class="network-map"' in html
    # every open site is drawn filled and labelled; every collection point is a circle
    for site in python["open_sites"]:
        assert f">{site['id']}</text>" in html
    assert html.count("<circle") == len(tomllib.loads(EXAMPLE)["points"])
    per_t = re.search(r'id="cost-per-t">([^<]+)<', html)
    assert per_t is not None
    assert per_t.group(1).replace(",", "").startswith(f"{python['cost_usd_per_t']:.2f}")
    assert 'id="utilisation"' in html and "%" in html
    zh = client.get("/analytics/network", headers={"Accept-Language": "zh-CN"})
    assert zh.status_code == 200 and "回收与处理网络" in zh.text and "每吨成本" in zh.text


def test_network_plan_posted_as_text_json_or_file(client: Any) -> None:
    data = tomllib.loads(EXAMPLE)
    data["points"] = data["points"][:3]
    as_json = json.dumps(data)
    by_text = client.post("/analytics/network/plan", data={"network": as_json})
    assert by_text.status_code == 200, by_text.text
    assert html_circles(by_text.text) == 3
    by_file = client.post(
        "/analytics/network/plan",
        files={"file": ("net.toml", EXAMPLE.encode(), "application/toml")},
        data={"network": ""},
    )
    assert by_file.status_code == 200 and html_circles(by_file.text) == len(tomllib.loads(EXAMPLE)["points"])
    empty = client.post("/analytics/network/plan", data={"network": "  "})
    assert empty.status_code == 422 and "Give a network" in empty.text


def html_circles(html: str) -> int:
    return html.count("<circle")


def test_network_page_errors_say_why(client: Any) -> None:
    data = tomllib.loads(EXAMPLE)
    for spoke in data["spokes"]:
        spoke["capacity_t_per_year"] = 100
    r = client.post("/analytics/network/plan", data={"network": json.dumps(data)})
    assert r.status_code == 422
    assert "infeasible: year 2026" in r.text and "all candidate spokes together take" in r.text
    broken = EXAMPLE.replace("lat = 53.55", "lat = 153.55")
    r = client.post("/analytics/network/plan", data={"network": broken})
    assert r.status_code == 422 and "Hamburg: latitude 153.55" in r.text
    r = client.post("/analytics/network/plan", data={"network": "years = [2026"})
    assert r.status_code == 422 and "not valid TOML" in r.text


def test_network_exports(client: Any) -> None:
    csv = client.get("/analytics/network/export.csv")
    assert csv.status_code == 200 and csv.text.startswith("year,from,to,tonnes,km")
    python = service.design_network(tomllib.loads(EXAMPLE))
    assert csv.text == report.network_to_csv(python)
    posted = client.post("/analytics/network/export.xlsx", data={"network": EXAMPLE})
    assert posted.status_code == 200
    book = load_workbook(io.BytesIO(posted.content))
    assert book.sheetnames[:3] == ["Sites", "Utilisation", "Flows"]
    assert client.get("/analytics/network/export.pdf").status_code == 404


def test_triage_page_takes_an_uploaded_csv(triage_file: Path, client: Any) -> None:
    text = triage_file.read_text(encoding="utf-8")
    page = client.post(
        "/analytics/triage/upload", files={"file": ("batteries.csv", text.encode(), "text/csv")}
    )
    assert page.status_code == 200, page.text
    assert "<svg" in page.text and "PK-NMC-03" in page.text
    assert 'action="/analytics/triage/export.csv"' in page.text  # downloads post the CSV back
    download = client.post("/analytics/triage/export.csv", data={"csv": text})
    assert download.status_code == 200 and download.text == report.triage_to_csv(service.triage_csv(text))
    bad = text.replace("PK-LFP-02,LFP", "PK-LFP-02,XYZ")
    refused = client.post("/analytics/triage/upload", files={"file": ("b.csv", bad.encode(), "text/csv")})
    assert refused.status_code == 422 and "chemistry &#39;XYZ&#39; is not a chemistry code" in refused.text
    nothing = client.post("/analytics/triage/upload", data={"csv": ""})
    assert nothing.status_code == 422
    zh = client.post(
        "/analytics/triage/upload",
        files={"file": ("batteries.csv", text.encode(), "text/csv")},
        headers={"Accept-Language": "zh-CN"},
    )
    assert zh.status_code == 200 and "上传并分级" in zh.text
