"""The public calendar feed, and sellers marking listings "available at this event"."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cms.ical import calendar
from cms.selectors import calendar_events
from cms.services.flea import listing_event_mark, listing_event_unmark
from cms.views import show_error
from marketplace.errors import DomainError
from marketplace.models import User


@require_GET
def calendar_feed(request: HttpRequest) -> HttpResponse:
    host = request.get_host().split(":")[0] or "xunhuan"
    body = calendar(
        calendar_events(),
        host=host,
        base_url=request.build_absolute_uri("/").rstrip("/"),
        name=f"{settings.WAGTAIL_SITE_NAME} · {_('Community events')}",
        now=timezone.now(),
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="xunhuan-events.ics"'
    return response


def _manage_url(listing_id: int) -> str:
    return reverse("listing_manage", args=(listing_id,)) + "#at-events"


@login_required
@require_POST
def listing_event_add(request: HttpRequest, listing_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    try:
        market_date_id = int(request.POST.get("market_date", ""))
    except ValueError:
        messages.error(request, _("Choose a market date."))
        return HttpResponseRedirect(_manage_url(listing_id))
    try:
        mark = listing_event_mark(user=user, listing_id=listing_id, market_date_id=market_date_id)
    except DomainError as exc:
        show_error(request, exc)
    else:
        messages.success(
            request,
            _("Shown as available at %(market)s on %(date)s.")
            % {"market": mark.market_date.market.title, "date": f"{mark.market_date.date:%Y-%m-%d}"},
        )
    return HttpResponseRedirect(_manage_url(listing_id))


@login_required
@require_POST
def listing_event_remove(request: HttpRequest, listing_id: int, market_date_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    try:
        listing_event_unmark(user=user, listing_id=listing_id, market_date_id=market_date_id)
    except DomainError as exc:
        show_error(request, exc)
    else:
        messages.success(request, _("No longer shown at that event."))
    return HttpResponseRedirect(_manage_url(listing_id))
