"""Rendering a page: one Jinja environment per language, the pages' filters, and the headers every page has.

An environment per language (rather than one switched per request) keeps rendering free of shared state
between the server's threads. Every page is sent with a Content-Security-Policy that allows this origin
only, so nothing is loaded from elsewhere and no inline script runs.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any
from urllib.parse import urlencode

import jinja2
from babel.dates import format_date
from babel.numbers import format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse

from credo.domain.rulebook import text_in
from credo.web.i18n import COOKIE, LANGUAGES, Language, choose, translations

__all__ = ["SECURITY_HEADERS", "language_of", "render"]

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
REMEMBER_LANGUAGE = 365 * 24 * 3600  # seconds the language switch is remembered


@functools.cache
def _environment(code: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("credo.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(code), newstyle=True)  # type: ignore[attr-defined]
    language = LANGUAGES[code]
    env.filters["day"] = lambda value: _day(value, language)
    env.filters["number"] = lambda value: format_decimal(value, locale=language.babel)
    # A rulebook's own words in this language when it gives them (docs/rulebook.md, "Texts in other languages").
    env.filters["local"] = lambda part, field: text_in(part, field, code)
    env.filters["label"] = lambda rule: rule.label_in(code)
    return env


def _day(value: dt.date | str | None, language: Language) -> str:
    if value is None:
        return ""
    day = dt.date.fromisoformat(value) if isinstance(value, str) else value
    return format_date(day, format="long", locale=language.babel)


def language_of(request: Request) -> Language:
    """The request's language (:func:`credo.web.i18n.choose`)."""
    return choose(request.query_params.get("lang"), request.cookies.get(COOKIE), request.headers.get("accept-language"))


# Query parameters the language switch carries over: never one that may hold personal data (an identifier
# searched for would otherwise sit in a link, and in the browser's history, twice).
_KEPT_BY_THE_SWITCH = ("offset",)


def _switch(request: Request, language: Language) -> list[dict[str, str]]:
    """A link to this page in each other language (a plain link: the switch works without JavaScript)."""
    links = []
    for other in LANGUAGES.values():
        if other.code == language.code:
            continue
        query = {k: v for k, v in request.query_params.items() if k in _KEPT_BY_THE_SWITCH} | {"lang": other.code}
        links.append({"href": f"{request.url.path}?{urlencode(query)}", "name": other.name, "lang": other.html})
    return links


def render(request: Request, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    """The page ``template`` in the request's language, with the security headers; a ``?lang=`` is remembered."""
    language = language_of(request)
    body = (
        _environment(language.code)
        .get_template(template)
        .render(language=language, switch=_switch(request, language), path=request.url.path, **values)
    )
    response = HTMLResponse(body, status_code=status_code, headers=SECURITY_HEADERS)
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(COOKIE, language.code, max_age=REMEMBER_LANGUAGE, httponly=True, samesite="lax")
    return response
