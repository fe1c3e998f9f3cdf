"""Error pages: JSON in the API's error shape under /api/, friendly HTML elsewhere."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.defaults import page_not_found as html_page_not_found


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path_info.startswith("/api/"):
        return JsonResponse({"code": "not_found", "message": _("Not found."), "details": {}}, status=404)
    return html_page_not_found(request, exception)
