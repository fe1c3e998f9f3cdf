"""Cleaning rich text that did not come through the admin's editor."""

from __future__ import annotations

import nh3

ALLOWED_TAGS = frozenset({"p", "br", "h2", "h3", "h4", "b", "i", "strong", "em", "a", "ul", "ol", "li", "hr"})
# Wagtail stores internal links as <a linktype="page" id="3">; keep those attributes.
ALLOWED_ATTRIBUTES = {"a": {"href", "linktype", "id"}}
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel", "geo"})


def sanitise_richtext(html: str) -> str:
    return nh3.clean(
        html, tags=set(ALLOWED_TAGS), attributes=ALLOWED_ATTRIBUTES, url_schemes=set(URL_SCHEMES), link_rel=None
    )
