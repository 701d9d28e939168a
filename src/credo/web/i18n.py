"""The pages' two languages: which one a request gets, and the translations of the pages' words.

English is the source language of the templates; Simplified Chinese comes from a gettext catalog
(``locale/zh_Hans/LC_MESSAGES/messages.po``), compiled in memory once per process, so there is no build
step and the ``.po`` file is the one source. A request's language is, in order: ``?lang=`` (a switch on every
page, remembered in a cookie), the cookie, then ``Accept-Language``.
"""

from __future__ import annotations

import functools
import gettext
import io
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

from babel import Locale, negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

__all__ = ["COOKIE", "LANGUAGES", "Language", "choose", "translations"]

COOKIE = "credo_lang"


@dataclass(frozen=True)
class Language:
    """A language the pages are written in: its code (``?lang=``, the cookie), HTML ``lang`` and Babel locale."""

    code: str
    html: str
    locale: str
    name: str  # in the language itself, for the switch

    @property
    def babel(self) -> Locale:
        return Locale.parse(self.locale)


LANGUAGES: Mapping[str, Language] = {
    "en": Language("en", "en", "en_GB", "English"),
    "zh": Language("zh", "zh-Hans", "zh_Hans_CN", "中文"),
}


def choose(asked: str | None, cookie: str | None, accept_language: str | None) -> Language:
    """The language of a request: ``?lang=``, then the remembered choice, then the browser's, else English."""
    for code in (asked, cookie):
        if code is not None and code in LANGUAGES:
            return LANGUAGES[code]
    wanted = [part.split(";")[0].strip().replace("-", "_") for part in (accept_language or "").split(",")]
    found = negotiate_locale([w for w in wanted if w], ["en", "zh", "zh_Hans", "zh_CN"], sep="_")
    return LANGUAGES["zh"] if found and found.startswith("zh") else LANGUAGES["en"]


@functools.cache
def translations(code: str) -> gettext.NullTranslations:
    """The pages' translations into ``code`` (English: none, the templates are written in it)."""
    if code == "en":
        return gettext.NullTranslations()
    source = resources.files("credo.web").joinpath("locale", "zh_Hans", "LC_MESSAGES", "messages.po")
    with source.open("rb") as fh:
        catalog = read_po(fh, locale="zh_Hans_CN")
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)
