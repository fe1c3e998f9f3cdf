"""Public pages of the city app: the statistics summary (no personal data) and the
buyer's choice of registration city for the relocation panel."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from marketplace.city.charts import bar_chart, column_chart
from marketplace.city.models import GreenFactor
from marketplace.city.periods import last_months
from marketplace.city.providers import Area
from marketplace.city.selectors import platform_green_estimate, trade_summary
from marketplace.city.services import registration_city_choose
from marketplace.errors import ValidationFailed


@require_GET
def statistics_summary(request: HttpRequest) -> HttpResponse:
    period = last_months(timezone.localdate(), 12)
    summary = trade_summary(period=period, area=Area())
    factors = list(GreenFactor.objects.order_by("category", "item_type"))
    # charts.* escapes every label and number it writes.
    charts = {
        "month": mark_safe(  # noqa: S308
            column_chart([(f.label[2:], f.trades) for f in summary.by_month], title=_("Trades by month"))
        ),
        "category": mark_safe(  # noqa: S308
            bar_chart([(f.label, f.trades) for f in summary.by_category], title=_("Trades by category"))
        ),
    }
    return render(
        request,
        "city/summary.html",
        {
            "period": period,
            "summary": summary,
            "charts": charts,
            "green": platform_green_estimate(),
            "factors": factors,
        },
    )


@require_POST
def registration_city(request: HttpRequest) -> HttpResponse:
    """Remember the buyer's city for the relocation panel and go back to the listing."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    raw = request.POST.get("city", "").strip()
    try:
        registration_city_choose(session=request.session, city_id=int(raw) if raw else None)
    except (ValueError, ValidationFailed):
        from django.contrib import messages

        messages.error(request, _("Choose a city from the list."))
    return HttpResponseRedirect(target)
