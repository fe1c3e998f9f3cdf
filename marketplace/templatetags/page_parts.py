"""``{% personal_part name arg %}``: a part of a page that differs between visitors (the
navigation of a logged-in member, their messages, the buy panel). A cached page keeps its
place and renders it again for each visitor (marketplace/page_cache.py)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from marketplace import page_cache

register = template.Library()


@register.simple_tag(takes_context=True)
def personal_part(context: template.Context, name: str, arg: Any = "") -> SafeString:
    # The renderers escape what they show (they render templates); the markers are ours.
    return mark_safe(page_cache.part_html(context["request"], name, str(arg), context))  # noqa: S308
