"""Every page in English and Simplified Chinese: Accept-Language, the ?lang= switch and its cookie, formats."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from batteryloop.app import create_app
from batteryloop.config import Settings
from batteryloop.domain.lifecycle import EventType as E
from batteryloop.domain.organisation import Role
from support.web import login_form

with warnings.catch_warnings():  # starlette asks for httpx2 instead of httpx; the client works the same
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

RESOLVER = "https://id.batteryloop.test"
BID = "urn:uuid:01934b2e-7c1a-7def-8abc-00000000c001"
GTIN, SERIAL = "04012345000016", "C001"
ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
EN = {"Accept-Language": "en-US,en;q=0.9"}
RECYCLING_ARGS = {"mix": "NMC811:0.7, LFP:0.3", "route": "hydro", "region": "ES", "draws": 200}


@pytest.fixture(scope="module")
def site(bl: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    from batteryloop.ledger import Ledger

    tmp_path: Path = tmp_path_factory.mktemp("i18n")
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    world = bl.build_world(ledger)
    owner = bl.add_actor(ledger, "fleetco", Role.OWNER)
    unit = bl.pack_unit(BID, serial=SERIAL, mass_kg=1510.5)
    world.maker.append(
        *bl.with_passport(unit, seed=3, ledger=ledger),
        bl.ev(BID, E.CUSTODY_HANDED_OVER, {"to_org": "fleetco"}, minutes=3),
    )
    owner.append(bl.ev(BID, E.CUSTODY_ACCEPTED, {}, minutes=4))
    keys = {"fleetco": ledger.issue_api_key("fleetco")}
    app = create_app(
        settings=Settings(database_url=f"sqlite:///{tmp_path / 'unused.db'}", resolver_domain=RESOLVER),
        ledger=ledger,
    )
    with TestClient(app) as client:
        yield client, keys
    ledger.close()


def _h1(html: str) -> str:
    match = re.search(r"<h1>(.*?)</h1>", html, flags=re.S)
    assert match is not None
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def test_the_home_page_follows_accept_language(site: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = site
    zh = client.get("/", headers=ZH)
    assert zh.status_code == 200
    assert '<html lang="zh-Hans">' in zh.text
    assert _h1(zh.text) == "电池查询"
    assert "账本" in zh.text and "查询电池" in zh.text and "Battery look-up" not in zh.text
    assert zh.headers["content-language"] == "zh-Hans"
    assert {"Accept-Language", "Cookie"} <= {v.strip() for v in zh.headers["vary"].split(",")}
    assert "set-cookie" not in zh.headers  # the header alone does not pin a language

    en = client.get("/", headers=EN)
    assert '<html lang="en">' in en.text and _h1(en.text) == "Battery look-up" and "电池" not in en.text
    assert en.headers["content-language"] == "en"
    plain = client.get("/")  # no header: English
    assert '<html lang="en">' in plain.text and _h1(plain.text) == "Battery look-up"
    french = client.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert _h1(french.text) == "Battery look-up"


def test_the_switch_sets_a_cookie_that_beats_the_header(site: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = site
    try:
        en_page = client.get("/", headers=EN)
        assert 'href="/?lang=zh-Hans"' in en_page.text and 'lang="zh-Hans"' in en_page.text
        switched = client.get("/?lang=zh-Hans", headers=EN)
        assert _h1(switched.text) == "电池查询"
        assert "bl_lang=zh_Hans" in switched.headers["set-cookie"]
        assert client.cookies.get("bl_lang") == "zh_Hans"
        later = client.get("/login", headers=EN)  # the cookie, not the header, decides now
        assert _h1(later.text) == "登录" and '<html lang="zh-Hans">' in later.text
        assert 'href="/login?lang=en"' in later.text

        back = client.get("/login?lang=en", headers=ZH)
        assert _h1(back.text) == "Sign in" and client.cookies.get("bl_lang") == "en"
        assert _h1(client.get("/", headers=ZH).text) == "Battery look-up"
        ignored = client.get("/?lang=klingon", headers=ZH)
        assert "set-cookie" not in ignored.headers and _h1(ignored.text) == "Battery look-up"
    finally:
        client.cookies.clear()


def test_the_switch_keeps_the_other_query_parameters(site: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = site
    page = client.get("/recycling/results", params={**RECYCLING_ARGS, "lang": "zh"})
    client.cookies.clear()
    assert page.status_code == 200
    link = re.search(r'<a href="([^"]*)" lang="en"', page.text)
    assert link is not None
    target = link.group(1).replace("&amp;", "&")
    assert target.startswith("/recycling/results?") and "lang=en" in target and "route=hydro" in target
    assert "lang=zh" not in target


def test_the_passport_page_in_both_languages(site: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = site
    path = f"/passports/{BID}/page"
    zh = client.get(path, headers=ZH)
    assert zh.status_code == 200
    assert _h1(zh.text) == "电池护照"
    for expected in (
        "身份信息",
        "化学体系与额定参数",
        "碳足迹",
        "有害物质",
        "安全与回收",
        "状态与谱系",
        "公众",
    ):
        assert expected in zh.text, expected
    assert "2025年3月1日" in zh.text  # date of manufacture in the Chinese form
    assert "1,510.5 kg" in zh.text and "220.0 Ah" in zh.text
    assert "Chemistry and ratings" not in zh.text
    en = client.get(path, headers=EN)
    assert _h1(en.text) == "Battery passport"
    assert "Mar 1, 2025" in en.text and "1,510.5 kg" in en.text
    assert "Chemistry and ratings" in en.text and "电池护照" not in en.text

    missing = client.get("/passports/urn:uuid:00000000-0000-7000-8000-00000000dead/page", headers=ZH)
    assert missing.status_code == 404 and _h1(missing.text) == "未找到"


def test_the_battery_timeline_in_chinese(site: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = site
    page = client.get(f"/ui/batteries/{quote(BID, safe=':')}", headers={**ZH, "X-API-Key": keys["fleetco"]})
    assert page.status_code == 200
    for expected in ("时间线", "保管链", "哈希链", "完整", "保管方", "制造商"):
        assert expected in page.text, expected
    assert "2025年3月1日 08:00" in page.text  # the first event, in the Chinese date form
    assert "BatteryManufactured" in page.text  # event types are codes, shown as such
    english = client.get(
        f"/ui/batteries/{quote(BID, safe=':')}", headers={**EN, "X-API-Key": keys["fleetco"]}
    )
    assert "Mar 1, 2025 08:00" in english.text and "Custodian" in english.text


def test_errors_of_the_sign_in_page_are_translated(site: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = site
    token = login_form(client)
    bad = client.post("/login", data={"api_key": "nope", "next": "/", "csrf_token": token}, headers=ZH)
    assert bad.status_code == 401 and "该 API 密钥无效。" in bad.text
    english = client.post("/login", data={"api_key": "nope", "csrf_token": token}, headers=EN)
    assert "That API key is not valid." in english.text
    client.cookies.clear()


def test_the_recycling_pages_in_chinese(site: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = site
    form = client.get("/recycling", headers=ZH)
    assert form.status_code == 200
    assert _h1(form.text) == "回收工厂模型"
    assert "湿法冶金" in form.text and "火法冶金" in form.text and "黑粉" in form.text
    assert 'value="hydro"' in form.text  # the codes stay the form's values
    results = client.get("/recycling/results", params=RECYCLING_ARGS, headers=ZH)
    assert results.status_code == 200
    assert "亏损概率" in results.text and "同一产线在其他市场" in results.text and "门到门" in results.text
    assert "<td>hydro/precursor</td>" in results.text
    assert "Probability of loss" not in results.text
    assert re.search(r"\d{1,3}(,\d{3})+ 吨/年", results.text)  # grouped throughput, Chinese unit
    quote_page = client.get("/recycling/quote", params={**RECYCLING_ARGS, "lot_mass_kg": 5000}, headers=ZH)
    assert quote_page.status_code == 200 and "所含金属总价值" in quote_page.text
    assert "5,000 kg" in quote_page.text


def test_an_error_page_translates_its_title_and_marks_the_english_detail(
    site: tuple[TestClient, dict[str, str]],
) -> None:
    """Domain errors are raised in English with the identifiers at fault: the Chinese page translates the
    title, says the detail is the system's English text, and tags it lang="en" for screen readers."""
    client, _ = site
    missing = "urn:uuid:0190f5c2-7d6e-7000-8000-00000000dead"
    zh = client.get(f"/ui/batteries/{missing}", headers=ZH)
    assert zh.status_code == 404
    assert _h1(zh.text) == "未找到"
    assert "详细信息（系统原文，英文）：" in zh.text
    assert '<p lang="en">' in zh.text and missing in zh.text
    en = client.get(f"/ui/batteries/{missing}", headers=EN)
    assert _h1(en.text) == "Not found" and "in English" not in en.text
