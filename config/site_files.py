"""Files browsers ask for at fixed addresses: /favicon.ico (a redirect to the static icon,
so production serves its hashed, long-cached copy) and the web-app manifest, written
here so its icon addresses are the static files' real (hashed) ones and its name follows
the language; /robots.txt for crawlers."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.templatetags.static import static
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

THEME_COLOUR = "#1f7a4d"  # --green in static/css/site.css
BACKGROUND_COLOUR = "#f6f8f7"  # --bg


@require_safe
@cache_control(public=True, max_age=86400)
def favicon(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect(static("icons/favicon.ico"))


@require_safe
@cache_control(public=True, max_age=3600)
def web_manifest(request: HttpRequest) -> HttpResponse:
    manifest = {
        "name": "循环 Xunhuan",
        "short_name": "循环",
        "description": _("Second-hand goods, graded and with their data erased."),
        "lang": get_language() or "zh-hans",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": [
            {"src": static("icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {"src": static("icons/favicon.svg"), "sizes": "any", "type": "image/svg+xml"},
        ],
    }
    return HttpResponse(json.dumps(manifest, ensure_ascii=False), content_type="application/manifest+json")


# Crawlers may read the public pages (listings, search, events, certificates); pages for
# one signed-in person and the admin are off their path (they need a login anyway).
ROBOTS_DISALLOWED = (
    "/accounts/",
    "/my/",
    "/orders/",
    "/sell/",
    "/notifications/",
    "/cms-admin/",
    "/django-admin/",
)


@require_safe
@cache_control(public=True, max_age=86400)
def robots_txt(request: HttpRequest) -> HttpResponse:
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in ROBOTS_DISALLOWED), ""]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")
