"""The web pages' catalogues, locale choice and locale formatting.

The catalogues must hold exactly the messages marked in the templates and sources (re-extracted here with the
[tool.babel] mapping of pyproject.toml), every Simplified Chinese entry translated with the same placeholders
and markup, and no template may show English text outside a translation call.
"""

from __future__ import annotations

import re
import tomllib
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from batteryloop import web
from batteryloop.web import i18n

ROOT = Path(__file__).resolve().parents[3]
SOURCE = ROOT / "src" / "batteryloop"
LOCALE_DIR = SOURCE / "web" / "locale"
PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")
TAG = re.compile(r"</?([a-zA-Z][a-zA-Z0-9]*)")


def _extracted() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["babel"]
    method_map = [(m["pattern"], m["method"]) for m in config["mappings"]]
    options_map = {
        m["pattern"]: {k: v for k, v in m.items() if k not in ("pattern", "method")}
        for m in config["mappings"]
    }
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(SOURCE), method_map, options_map, keywords=DEFAULT_KEYWORDS
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def _catalogue(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def _ids(catalog: Catalog) -> set[str]:
    return {m.id[0] if isinstance(m.id, tuple) else m.id for m in catalog if m.id}


def _po(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"


@pytest.fixture(scope="module")
def extracted() -> set[str]:
    return _extracted()


def test_every_marked_message_is_in_the_template_and_every_catalogue(extracted: set[str]) -> None:
    assert len(extracted) > 150  # the existing pages; extraction found the templates and sources
    pot = _ids(_catalogue(LOCALE_DIR / "messages.pot"))
    assert sorted(extracted - pot) == [], "run pybabel extract (see pyproject.toml [tool.babel])"
    assert sorted(pot - extracted) == [], "messages.pot holds messages no longer marked anywhere"
    for locale in i18n.LOCALES:
        ids = _ids(_catalogue(_po(locale), locale))
        assert sorted(pot - ids) == [], f"run pybabel update for {locale}"
        assert sorted(ids - pot) == [], f"{locale} keeps messages that are gone from messages.pot"


def test_every_simplified_chinese_entry_is_translated_with_the_same_placeholders_and_markup() -> None:
    catalog = _catalogue(_po("zh_Hans"), "zh_Hans")
    assert not catalog.fuzzy
    problems: list[str] = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(f"fuzzy: {ids[0]!r}")
        if not all(s.strip() for s in strings) or len(strings) != catalog.num_plurals:
            problems.append(f"untranslated: {ids[0]!r}")
            continue
        wanted = sorted(PLACEHOLDER.findall(ids[-1]))
        tags = sorted(TAG.findall(ids[0]))
        for text in strings:
            if sorted(PLACEHOLDER.findall(text)) != wanted:
                problems.append(f"placeholders differ: {ids[0]!r} -> {text!r}")
            if sorted(TAG.findall(text)) != tags:
                problems.append(f"markup differs: {ids[0]!r} -> {text!r}")
            if re.search(r"%(?!\(\w+\)s|%)", text.replace("%%", "")):
                problems.append(f"stray % (write %%): {text!r}")
    problems += [f"{m.id!r}: {errors}" for m, errors in catalog.check()]
    assert problems == []


def test_the_english_catalogue_has_no_translation_that_would_hide_a_changed_source_string() -> None:
    catalog = _catalogue(_po("en"), "en")
    assert [m.id for m in catalog if m.id and m.fuzzy] == []


def test_catalogues_compile_and_translate() -> None:
    zh = i18n.translations("zh_Hans")
    assert zh.gettext("Battery passport") == "电池护照"
    assert zh.ngettext("%(count)s month", "%(count)s months", 3) == "%(count)s 个月"
    en = i18n.translations("en")
    assert en.gettext("Battery passport") == "Battery passport"
    assert i18n.translations("zh_Hans") is zh  # compiled once
    with pytest.raises(ValueError, match="no catalogue"):
        i18n.translations("fr")


ALLOWED_WORDS = {
    # brand, units, file formats and standards shown as such in every language
    "batteryloop",
    "kg",
    "Ah",
    "kWh",
    "kW",
    "CO",
    "USD",
    "JSON",
    "LD",
    "BatteryPass",
    "Catena",
    "PNG",
    "SVG",
    "CSV",
    "XLSX",
}


def _template_text(source: str) -> list[str]:
    """Words a reader sees that no translation call produces: text outside tags, styles, comments and Jinja."""
    text = re.sub(r"{#.*?#}", " ", source, flags=re.S)
    text = re.sub(r"{%-?\s*trans\b.*?{%-?\s*endtrans\s*-?%}", " ", text, flags=re.S)
    text = re.sub(r"{{.*?}}|{%.*?%}", "\x00", text, flags=re.S)
    text = re.sub(r"<style.*?</style>", " ", text, flags=re.S)
    words: list[str] = []
    for attribute in re.findall(r'(?:title|alt|placeholder|aria-label)="([^"]*)"', text):
        words += re.findall(r"[A-Za-z]{2,}", attribute)
    text = re.sub(r"<[^>]*>", " ", text)
    text = re.sub(r"&\w+;", " ", text)
    return words + [w for w in re.findall(r"[A-Za-z]{2,}", text) if w not in ALLOWED_WORDS]


def test_no_template_shows_english_outside_a_translation() -> None:
    untranslated = {
        name: _template_text((folders[0] / name).read_text())
        for name, folders in web.template_names().items()
    }
    assert {name: words for name, words in untranslated.items() if words} == {}


def test_the_check_finds_bare_text() -> None:
    assert _template_text("<p title='x'>{{ _('Fine') }}</p><p>Not marked</p>") == ["Not", "marked"]
    assert _template_text('<input aria-label="API key">') == ["API", "key"]
    assert _template_text("<style>p { color: red }</style>{% trans %}Marked{% endtrans %} kg") == []
    assert _template_text('<option value="{{ v }}"{% if v %} selected{% endif %}>{{ _(v) }}</option>') == []


def test_one_environment_for_every_page_and_no_template_shadows_another() -> None:
    assert web.templates() is web.templates(SOURCE / "passport" / "templates")
    dirs = web.template_dirs()
    assert dirs[0] == web.TEMPLATE_DIR
    assert {SOURCE / "passport" / "templates", SOURCE / "recycling" / "templates"} <= set(dirs)
    names = web.template_names()
    assert {"base.html", "passport.html", "recycling_form.html"} <= set(names)
    assert {name: folders for name, folders in names.items() if len(folders) > 1} == {}
    env = web.templates().env
    for name in names:
        env.get_template(name)  # every template compiles


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh_Hans"),
        ("zh", "zh_Hans"),
        ("zh-Hans-SG", "zh_Hans"),
        ("zh-TW", "zh_Hans"),  # the only Chinese catalogue
        ("en-GB,en;q=0.9", "en"),
        ("fr-FR, zh;q=0.5, en;q=0.4", "zh_Hans"),
        ("en;q=0.3, zh-CN;q=0.7", "zh_Hans"),
        ("zh-CN;q=0, en", "en"),
        ("fr, de", None),
        ("*", None),
        ("", None),
        (None, None),
        ("zh-CN;q=abc, en", "en"),
        ("!!, en", "en"),
    ],
)
def test_accept_language_negotiation(header: str | None, expected: str | None) -> None:
    assert i18n.negotiate(header) == expected


def test_the_switch_beats_the_header_and_the_query_beats_the_cookie() -> None:
    assert i18n.choose_locale(query=None, cookie=None, accept_language=None) == "en"
    assert i18n.choose_locale(query=None, cookie=None, accept_language="zh-CN") == "zh_Hans"
    assert i18n.choose_locale(query=None, cookie="en", accept_language="zh-CN") == "en"
    assert i18n.choose_locale(query="zh", cookie="en", accept_language="en") == "zh_Hans"
    assert i18n.choose_locale(query="klingon", cookie="zh_Hans", accept_language="en") == "zh_Hans"
    assert i18n.html_lang("zh_Hans") == "zh-Hans"


@pytest.mark.parametrize(
    ("value", "locale", "digits", "expected"),
    [
        (1234567, "en", None, "1,234,567"),
        (1234567.891, "en", 2, "1,234,567.89"),
        (1234567.891, "de", 2, "1.234.567,89"),
        (1234567.891, "fr", 0, "1\u202f234\u202f568"),
        (220.0, "en", None, "220.0"),  # a measured value keeps the precision it was given with
        (0.125, "zh_Hans", None, "0.125"),
        (-3456.5, "zh_Hans", 0, "-3,456"),
        ("n/a", "en", 0, "n/a"),
        (None, "en", 0, None),
        (True, "en", 0, True),
    ],
)
def test_numbers_follow_the_locale(value: Any, locale: str, digits: int | None, expected: Any) -> None:
    assert i18n.format_number(value, locale, digits) == expected


def test_shares_and_dates_follow_the_locale() -> None:
    assert i18n.format_share(0.1234, "en", 1) == "12.3%"
    assert i18n.format_share(0.1234, "de", 1) == "12,3\xa0%"
    assert i18n.format_share(0.5, "zh_Hans") == "50%"
    assert i18n.format_date(date(2025, 3, 1), "en") == "Mar 1, 2025"
    assert i18n.format_date("2025-03-01", "zh_Hans") == "2025年3月1日"
    assert i18n.format_date("2025-03-01T08:00:00Z", "zh_Hans") == "2025年3月1日"
    assert i18n.format_datetime(datetime(2025, 3, 1, 8, 5), "en") == "Mar 1, 2025 08:05"
    assert i18n.format_datetime("2025-03-01 08:05", "zh_Hans") == "2025年3月1日 08:05"
    assert i18n.format_datetime("2025-03-01", "zh_Hans") == "2025年3月1日"
    assert i18n.format_date("soon", "en") == "soon"
    assert i18n.format_datetime(None, "en") is None


def test_templates_translate_and_format_in_the_context_locale() -> None:
    env = web.templates().env
    template = env.from_string(
        "{% trans n=n | number(1) %}Grid {{ n }}{% endtrans %}|{{ _('Battery passport') }}|{{ d | date }}"
        "|{{ _('signed in: %(name)s', name=who) }}"
    )
    assert template.render(n=1234.56, d="2025-03-01", who="<b>") == (
        "Grid 1,234.6|Battery passport|Mar 1, 2025|signed in: &lt;b&gt;"
    )
    zh = dict(web._gettext_for("zh_Hans"), locale="zh_Hans")
    assert template.render(n=1234.56, d="2025-03-01", who="<b>", **zh) == (
        "Grid 1,234.6|电池护照|2025年3月1日|已登录：&lt;b&gt;"
    )


def test_a_template_folder_outside_the_package_joins_the_one_environment(tmp_path: Path) -> None:
    (tmp_path / "outside_i18n_probe.html").write_text(
        '{% extends "base.html" %}{% block content %}{{ _("Battery passport") }}{% endblock %}'
    )
    shared = web.templates()
    assert web.templates(tmp_path) is shared
    assert web.templates(tmp_path) is shared  # registered once
    loaders = shared.env.loader.loaders  # type: ignore[union-attr]
    assert sum(str(tmp_path) in loader.searchpath for loader in loaders) == 1
    html = shared.env.get_template("outside_i18n_probe.html").render(**web._gettext_for("zh_Hans"))
    assert "电池护照" in html


@pytest.mark.parametrize(
    ("query", "headers", "expected"),
    [
        (b"", [], "en"),
        (b"", [(b"accept-language", b"zh-CN,zh;q=0.9")], "zh_Hans"),
        (b"", [(b"accept-language", b"zh-CN"), (b"cookie", b"bl_lang=en")], "en"),
        (b"lang=zh", [(b"accept-language", b"en"), (b"cookie", b"bl_lang=en")], "zh_Hans"),
    ],
)
def test_page_code_translates_in_the_request_locale(
    query: bytes, headers: list[tuple[bytes, bytes]], expected: str
) -> None:
    from starlette.requests import Request

    request = Request(
        {"type": "http", "method": "GET", "path": "/", "query_string": query, "headers": headers}
    )
    assert web.locale_of(request) == expected
    _ = web.translator(request).gettext
    assert _("Not found") == {"en": "Not found", "zh_Hans": "未找到"}[expected]
