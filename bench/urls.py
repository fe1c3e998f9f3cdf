"""The product's URLs with one addition for the benchmarks: /__bench__/constant, a bare
Django view that returns a constant. It runs through the same middleware (sessions,
locale, CSRF, CSP, …) and the same gunicorn as the pages, so a page's figures divided by
its figures say what the page itself costs, whatever the machine. Never in config.urls."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

import config.urls as product


def constant(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok\n", content_type="text/plain")


urlpatterns = [path("__bench__/constant", constant, name="bench_constant"), *product.urlpatterns]

# The product's error handlers (handler404, handler500, … whichever config.urls defines).
for _name in ("handler400", "handler403", "handler404", "handler500"):
    if hasattr(product, _name):
        globals()[_name] = getattr(product, _name)
