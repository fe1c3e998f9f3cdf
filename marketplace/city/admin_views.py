"""The statistics screens of the Wagtail admin (staff only): the dashboard with
server-rendered SVG charts, the CSV/XLSX export of a period and area, and "refresh the
figures now". Thin: parse the filter, call the selectors, render."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView
from wagtail.admin import messages
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from marketplace.city.charts import bar_chart, column_chart
from marketplace.city.exports import csv_lines, xlsx_bytes
from marketplace.city.forms import StatisticsFilterForm
from marketplace.city.periods import Period
from marketplace.city.providers import Area, StatsSection, provided_sections
from marketplace.city.selectors import area_choices, trade_summary, trades_for_export
from marketplace.city.services import rollup_refresh_recent
from marketplace.templatetags.listing_tags import format_money


def _require_staff(request: HttpRequest) -> None:
    user = request.user
    if not (user.is_authenticated and user.is_active and user.is_staff):
        raise PermissionDenied


def _svg(markup: str) -> SafeString:
    # charts.* escapes every label and number it writes.
    return mark_safe(markup)  # noqa: S308


def _filter(request: HttpRequest) -> tuple[StatisticsFilterForm, Period, Area] | None:
    form = StatisticsFilterForm(request.GET, areas=area_choices())
    if form.is_bound and not form.is_valid():
        return None
    period, area = form.period_and_area()
    return form, period, area


def section_charts(section: StatsSection) -> list[dict[str, Any]]:
    return [
        {
            "table": table,
            "chart": _svg(
                bar_chart([(str(row[0]), int(row[table.chart_column])) for row in table.rows], title=table.title)
            )
            if table.chart_column is not None and table.rows
            else None,
        }
        for table in section.tables
    ]


class StatisticsDashboardView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "city/admin/dashboard.html"
    page_title = _("Statistics")
    header_icon = "table"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        _require_staff(request)
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self) -> list[dict[str, Any]]:
        return [*self.breadcrumbs_items, {"url": "", "label": self.get_page_title()}]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        form = StatisticsFilterForm(self.request.GET, areas=area_choices())
        context["form"] = form
        if form.is_bound and not form.is_valid():
            return context
        period, area = form.period_and_area()
        summary = trade_summary(period=period, area=area)

        def money(value: int) -> str:
            return format_money(value, "CNY")

        context.update(
            {
                "period": period,
                "area": area,
                "summary": summary,
                "query": self.request.GET.urlencode(),
                "charts": {
                    "category_trades": _svg(
                        bar_chart(
                            [(f.label, f.trades) for f in summary.by_category], title=gettext("Trades by category")
                        )
                    ),
                    "category_value": _svg(
                        bar_chart(
                            [(f.label, f.value_cny) for f in summary.by_category],
                            title=gettext("Value by category"),
                            value_label=money,
                        )
                    ),
                    "area_trades": _svg(
                        bar_chart([(f.label, f.trades) for f in summary.by_area[:15]], title=gettext("Trades by place"))
                    ),
                    "month_trades": _svg(
                        column_chart([(f.label, f.trades) for f in summary.by_month], title=gettext("Trades by month"))
                    ),
                    "month_value": _svg(
                        column_chart(
                            [(f.label[2:], f.value_cny // 100) for f in summary.by_month],
                            title=gettext("Value by month (yuan)"),
                        )
                    ),
                },
                "sections": [
                    {"section": section, "tables": section_charts(section)}
                    for section in provided_sections(period, area)
                ],
            }
        )
        return context


def _filename(period: Period, area: Area, extension: str) -> str:
    # ASCII only in the header; the area is in the file's summary.
    return f"xunhuan-trades-{period.start:%Y%m%d}-{period.end:%Y%m%d}.{extension}"


class StatisticsExportView(View):
    """GET ?start=&end=&area= → the trades of the period and area (csv or xlsx)."""

    def get(self, request: HttpRequest, fmt: str) -> HttpResponseBase:
        _require_staff(request)
        if fmt not in ("csv", "xlsx"):
            raise Http404
        found = _filter(request)
        if found is None:
            messages.error(request, gettext("Choose a valid period."))
            return HttpResponseRedirect(reverse("city_statistics_dashboard"))
        _form, period, area = found
        rows = trades_for_export(period=period, area=area)
        if fmt == "csv":
            response: HttpResponseBase = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
        else:
            content = xlsx_bytes(
                period=period,
                area=area,
                summary=trade_summary(period=period, area=area),
                rows=rows,
                sections=provided_sections(period, area),
            )
            response = HttpResponse(
                content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            )
        response["Content-Disposition"] = f'attachment; filename="{_filename(period, area, fmt)}"'
        response["Cache-Control"] = "no-store"
        return response


@method_decorator(require_POST, name="dispatch")
class StatisticsRefreshView(View):
    def post(self, request: HttpRequest) -> HttpResponse:
        _require_staff(request)
        run = rollup_refresh_recent()
        messages.success(
            request,
            format_html(
                "{} {}",
                gettext("The figures were recalculated."),
                gettext("%(first)s to %(last)s") % {"first": run.first_day, "last": run.last_day},
            ),
        )
        return HttpResponseRedirect(reverse("city_statistics_dashboard") + _back_query(request))


def _back_query(request: HttpRequest) -> str:
    query = request.POST.get("query", "")
    return f"?{query}" if query and "\n" not in query and "\r" not in query else ""
