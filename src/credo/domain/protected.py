"""What no rulebook may score: namespaces of categories, and protected terms in any language Credo ships.

Categories that would score expression, belief or who a person is, and words that name them (in English and
Chinese), are refused wherever a rulebook names a category or titles a list or measure
(:mod:`credo.domain.policy`, docs/rulebook.md). They are code, not configuration: a deployment cannot widen them.
"""

from __future__ import annotations

import re

__all__ = ["FORBIDDEN_NAMESPACES", "PROTECTED_TERMS", "forbidden_namespace", "protected_term"]

# Categories that would score expression, belief or who a person is.
FORBIDDEN_NAMESPACES = (
    "speech",
    "opinion",
    "politics",
    "religion",
    "ethnicity",
    "health",
    "sexuality",
    "biometric",
    "location",
    "family",
    "association",
)

# What a category (any of its segments, any word of a segment split on "_") or a rule's title may not name:
# protected characteristics and expression (docs/rulebook.md, "Protected terms"; ADR 0010). A term ending
# in "*" is a stem (any word starting with it); a term with spaces is a phrase of consecutive words; other
# Latin terms are whole words; Chinese terms are found anywhere in a title (Chinese has no spaces).
PROTECTED_TERMS: dict[str, tuple[str, ...]] = {
    "ethnicity": ("ethnic*", "race", "races", "racial*", "tribe*", "tribal", "caste*", "民族", "种族"),
    "religion or belief": (
        "relig*",
        "belief*",
        "believer*",
        "worship*",
        "church*",
        "mosque*",
        "temple*",
        "atheis*",
        "spiritual*",
        "prayer*",
        "cult",
        "cults",
        "宗教",
        "信仰",
        "信教",
        "邪教",
    ),
    "political opinion": ("politic*", "ideolog*", "dissident*", "dissent*", "activis*", "partisan*", "政治", "政见"),
    "protest or petition": (
        "protest*",
        "petition*",
        "demonstration*",
        "demonstrator*",
        "rally",
        "rallies",
        "boycott*",
        "labour strike*",
        "labor strike*",
        "general strike*",
        "strike action*",
        "on strike",
        "sit in",
        "xinfang",
        "shangfang",
        "抗议",
        "示威",
        "游行",
        "上访",
        "信访",
        "请愿",
        "罢工",
    ),
    "speech": (
        "speech*",
        "speak*",
        "spoken",
        "expression*",
        "remark*",
        "comment*",
        "rumor*",
        "rumour*",
        "blog*",
        "tweet*",
        "weibo*",
        "言论",
        "发言",
        "谣言",
        "发帖",
    ),
    "criticism": ("criticis*", "criticiz*", "critic", "critics", "批评", "批判"),
    "reviews and opinions": ("review", "reviews", "reviewer*", "opinion*", "差评", "评论", "观点"),
    "trade union membership": (
        "trade union*",
        "labour union*",
        "labor union*",
        "union member*",
        "unionis*",
        "unioniz*",
        "collective bargaining",
        "工会",
    ),
    "health": (
        "health*",
        "medical condition*",
        "medical history",
        "medical record*",
        "illness*",
        "disease*",
        "disabilit*",
        "disabled",
        "diagnos*",
        "mental*",
        "psychiatr*",
        "hiv",
        "pregnan*",
        "genetic*",
        "健康",
        "疾病",
        "病史",
        "残疾",
        "怀孕",
    ),
    "sexual orientation": (
        "sexuality*",
        "sexual orientation*",
        "gay",
        "gays",
        "lesbian*",
        "homosexual*",
        "bisexual*",
        "transgender*",
        "lgbt*",
        "queer*",
        "性取向",
        "同性恋",
    ),
    "family members' conduct": (
        "family*",
        "relative",
        "relatives",
        "spouse*",
        "sibling*",
        "parents",
        "kin",
        "kinship",
        "家属",
        "亲属",
        "家庭成员",
        "配偶",
    ),
}


def forbidden_namespace(category: str) -> str | None:
    """The forbidden namespace a category is in (its first part), or None."""
    head = category.split(".", 1)[0]
    return head if head in FORBIDDEN_NAMESPACES else None


def _matches(term: str, words: list[str]) -> bool:
    parts = term.rstrip("*").split(" ")
    stem = term.endswith("*")
    for start in range(len(words) - len(parts) + 1):
        window = words[start : start + len(parts)]
        if window[:-1] == parts[:-1] and (window[-1].startswith(parts[-1]) if stem else window[-1] == parts[-1]):
            return True
    return False


def protected_term(text: str) -> tuple[str, str] | None:
    """(topic, term) of the first protected term ``text`` names, or None.

    ``text`` is a category (split on ``.`` and ``_``) or a title (split on anything but letters and
    digits); Latin words are compared in lower case, Chinese terms found anywhere.
    """
    lowered = text.casefold()
    words = [w for w in re.split(r"[^0-9a-z]+", lowered) if w]
    for topic, terms in PROTECTED_TERMS.items():
        for term in terms:
            if (term.isascii() and _matches(term, words)) or (not term.isascii() and term in text):
                return topic, term.rstrip("*")
    return None
