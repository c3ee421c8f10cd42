"""Server-rendered web shell (Jinja2, works without JavaScript) and the one template environment of all pages.

Every page of every capability renders through the environment ``templates()`` returns. It loads the shell's
templates (``web/templates``) first, then the ``templates`` folder of each ``batteryloop`` subpackage, and has
the Jinja2 i18n extension with newstyle gettext. The locale is chosen per request, without the page's code
taking part: a context processor reads the request (``?lang=``, the ``bl_lang`` cookie, ``Accept-Language``;
see ``batteryloop.web.i18n``) and hands the template ``_``/``gettext``/``ngettext`` bound to that locale's
catalogue, ``locale`` and ``html_lang``, and the links of the language switch. The formatting filters
(``number``, ``share``, ``date``, ``datetime``) read the locale from the same context. ``TemplateResponse``
sets the switch's cookie when ``?lang=`` chose the locale and adds ``Content-Language`` and
``Vary: Accept-Language, Cookie``.
"""

from __future__ import annotations

import gettext as gettext_module
import threading
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from batteryloop.web.i18n import (
    COOKIE_MAX_AGE_S,
    COOKIE_NAME,
    DEFAULT_LOCALE,
    LANGUAGE_NAMES,
    LOCALES,
    N_,
    QUERY_PARAM,
    choose_locale,
    format_country,
    format_date,
    format_datetime,
    format_number,
    format_share,
    html_lang,
    match_locale,
    translations,
)
from batteryloop.web.sessions import CSRF_FIELD, csrf_token, is_https, remember_csrf_cookie

if TYPE_CHECKING:
    from fastapi.templating import Jinja2Templates
    from jinja2 import Environment
    from starlette.requests import Request

__all__ = [
    "N_",
    "PACKAGE_DIR",
    "STATIC_DIR",
    "TEMPLATE_DIR",
    "locale_of",
    "template_dirs",
    "template_names",
    "templates",
    "translator",
]

PACKAGE_DIR = Path(__file__).parent.parent
TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


def template_dirs() -> list[Path]:
    """The shell's templates, then every capability's ``templates`` folder, each once (a name found in two is an error)."""
    found = sorted(p for p in PACKAGE_DIR.glob("*/templates") if p.is_dir() and p != TEMPLATE_DIR)
    return [TEMPLATE_DIR, *found]


def locale_of(request: Request) -> str:
    """The locale a request is served in (see ``batteryloop.web.i18n.choose_locale``)."""
    cached = request.scope.get("batteryloop.locale")
    if isinstance(cached, str):
        return cached
    chosen = choose_locale(
        query=request.query_params.get(QUERY_PARAM),
        cookie=request.cookies.get(COOKIE_NAME),
        accept_language=request.headers.get("accept-language"),
    )
    request.scope["batteryloop.locale"] = chosen
    return chosen


def translator(request: Request) -> gettext_module.NullTranslations:
    """The catalogue of a request's locale, for page code that must translate a message in Python."""
    return translations(locale_of(request))


def _bound_gettext(catalogue: gettext_module.NullTranslations) -> dict[str, Callable[..., Any]]:
    """Newstyle gettext callables for a template: ``_('Hello %(name)s', name=x)`` formats and escapes ``x``."""
    from jinja2 import pass_context
    from markupsafe import Markup

    @pass_context
    def gettext(context: Any, message: str, **variables: Any) -> str:
        text = catalogue.gettext(message)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables

    @pass_context
    def ngettext(context: Any, singular: str, plural: str, num: int, **variables: Any) -> str:
        variables.setdefault("num", num)
        text = catalogue.ngettext(singular, plural, num)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables

    return {"gettext": gettext, "ngettext": ngettext, "_": gettext}


@cache
def _gettext_for(locale: str) -> dict[str, Callable[..., Any]]:
    return _bound_gettext(translations(locale))


def _switch_url(request: Request, locale: str) -> str:
    query = [(k, v) for k, v in request.query_params.multi_items() if k != QUERY_PARAM]
    query.append((QUERY_PARAM, html_lang(locale)))
    return f"{request.url.path}?{urlencode(query)}"


def signed_in(request: Request) -> Any:
    """The organisation signed in on this request (API key or session), for the header of every page, or
    None. The look-up is the application's (``app.state.caller_of``, set by the composition root), made only
    when a page's header asks; a wrong key shows as signed out here (the route itself answers for it)."""
    cached = getattr(request.state, "signed_in", _UNSET)
    if cached is not _UNSET:
        return cached
    caller_of = getattr(request.app.state, "caller_of", None)
    org = None
    if caller_of is not None:
        try:
            org = caller_of(request)
        except Exception:
            org = None
    request.state.signed_in = org
    return org


_UNSET = object()


def _locale_context(request: Request) -> dict[str, Any]:
    locale = locale_of(request)
    switch = [
        {
            "locale": name,
            "lang": html_lang(name),
            "name": LANGUAGE_NAMES[name],
            "url": _switch_url(request, name),
            "current": name == locale,
        }
        for name in LOCALES
    ]
    return {
        **_gettext_for(locale),
        # called by a form that changes state: the token is made (and its cookie set) only when a page uses it
        "csrf_token": lambda: csrf_token(request),
        "csrf_field": CSRF_FIELD,
        "signed_in": lambda: signed_in(request),
        "locale": locale,
        "html_lang": html_lang(locale),
        "language_switch": switch,
    }


def _context_locale(context: Any) -> str:
    locale = context.get("locale")
    return locale if isinstance(locale, str) and locale in LOCALES else DEFAULT_LOCALE


def _environment(dirs: Sequence[Path]) -> Environment:
    from jinja2 import ChoiceLoader, Environment, FileSystemLoader, pass_context, select_autoescape

    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(d)) for d in dirs]),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
    )
    env.policies["ext.i18n.trimmed"] = True
    # Outside a request (a template rendered directly) the English msgids are shown.
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        {
            "locale": DEFAULT_LOCALE,
            "html_lang": html_lang(DEFAULT_LOCALE),
            "language_switch": [],
            "csrf_field": CSRF_FIELD,
            "signed_in": lambda: None,
        }
    )

    @pass_context
    def number(context: Any, value: object, digits: int | None = None) -> object:
        return format_number(value, _context_locale(context), digits)

    @pass_context
    def share(context: Any, value: object, digits: int = 0) -> object:
        return format_share(value, _context_locale(context), digits)

    @pass_context
    def date(context: Any, value: object) -> object:
        return format_date(value, _context_locale(context))

    @pass_context
    def datetime(context: Any, value: object) -> object:
        return format_datetime(value, _context_locale(context))

    @pass_context
    def country(context: Any, value: object) -> object:
        return format_country(value, _context_locale(context))

    env.filters.update(
        {"number": number, "share": share, "date": date, "datetime": datetime, "country": country}
    )
    return env


def _localized_templates_class() -> type[Jinja2Templates]:
    from fastapi.templating import Jinja2Templates

    class LocalizedTemplates(Jinja2Templates):
        """Jinja2Templates whose responses carry the locale's headers and keep a ``?lang=`` choice in a cookie."""

        def TemplateResponse(self, *args: Any, **kwargs: Any) -> Any:
            response = super().TemplateResponse(*args, **kwargs)
            request = kwargs.get("request")
            if request is None and args and not isinstance(args[0], str):
                request = args[0]
            if request is None:
                context = kwargs.get("context") or (args[1] if len(args) > 1 else {})
                request = context.get("request")
            if request is None:
                return response
            locale = locale_of(request)
            response.headers["Content-Language"] = html_lang(locale)
            vary = [v.strip() for v in response.headers.get("vary", "").split(",") if v.strip()]
            for name in ("Accept-Language", "Cookie"):
                if name.lower() not in {v.lower() for v in vary}:
                    vary.append(name)
            response.headers["Vary"] = ", ".join(vary)
            settings = getattr(request.app.state, "settings", None)
            secure = is_https(request, str(getattr(settings, "public_base_url", "")))
            remember_csrf_cookie(request, response, secure=secure)
            chosen = request.query_params.get(QUERY_PARAM)
            if chosen and match_locale(chosen) is not None:
                response.set_cookie(
                    COOKIE_NAME,
                    locale,
                    max_age=COOKIE_MAX_AGE_S,
                    httponly=True,
                    samesite="lax",
                )
            return response

    return LocalizedTemplates


_SHARED: dict[str, Any] = {}
_SHARED_LOCK = threading.Lock()


def templates(*extra_dirs: Path) -> Jinja2Templates:
    """The one template environment of all pages (the same object on every call).

    ``extra_dirs`` is for templates outside the ``batteryloop`` package; a capability's own ``templates``
    folder is registered already. A folder not yet known is appended to the loader once.
    """
    with _SHARED_LOCK:
        shared: Jinja2Templates | None = _SHARED.get("templates")
        if shared is None:
            dirs = template_dirs()
            shared = _localized_templates_class()(
                env=_environment(dirs), context_processors=[_locale_context]
            )
            _SHARED.update(templates=shared, dirs={d.resolve() for d in dirs})
        known: set[Path] = _SHARED["dirs"]
        new = [Path(d) for d in extra_dirs if Path(d).resolve() not in known]
        if new:
            from jinja2 import ChoiceLoader, FileSystemLoader

            known.update(d.resolve() for d in new)
            loader = shared.env.loader
            assert isinstance(loader, ChoiceLoader)
            loader.loaders = [*loader.loaders, *(FileSystemLoader(str(d)) for d in new)]
        return shared


def template_names() -> Mapping[str, list[Path]]:
    """Every template name and the folders holding it (a name in two folders would be shadowed)."""
    names: dict[str, list[Path]] = {}
    for folder in template_dirs():
        for path in sorted(folder.rglob("*.html")):
            names.setdefault(path.relative_to(folder).as_posix(), []).append(folder)
    return names
