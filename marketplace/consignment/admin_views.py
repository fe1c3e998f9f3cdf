"""The "Consignment agreements" screen of the Wagtail admin (staff only): find the
agreements that tie a consignor to a shop and release a consignor from one — the
agreement ends, the listings in their name are withdrawn and the shop is told. Every
change goes through marketplace.consignment.services."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView
from wagtail.admin import messages
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from marketplace.consignment import services
from marketplace.consignment.models import AgreementStatus, ConsignmentAgreement
from marketplace.consignment.selectors import CONSIGNMENT_OPEN_STATUSES
from marketplace.errors import DomainError, ValidationFailed
from marketplace.models import Listing

PAGE_SIZE = 50


class AgreementsAdminView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "consignment/admin/agreements.html"
    page_title = _("Consignment agreements")
    header_icon = "group"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not (request.user.is_authenticated and request.user.is_active and request.user.is_staff):
            raise DjangoPermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        query = self.request.GET.get("q", "").strip()
        agreements = (
            ConsignmentAgreement.objects.filter(consignor__isnull=False)
            .exclude(status=AgreementStatus.DECLINED)
            .select_related("shop", "consignor")
            .order_by("status", "-created_at", "-pk")
        )
        if query:
            agreements = agreements.filter(
                Q(consignor__email__icontains=query)
                | Q(invited_email__icontains=query)
                | Q(consignor__display_name__icontains=query)
                | Q(shop__name__icontains=query)
            )
        page = list(agreements[:PAGE_SIZE])
        # Listings still at the shop in each consignor's name: one query for the page.
        counts: dict[tuple[int, int | None], int] = {
            (row["seller_organisation_id"], row["consignor_id"]): row["count"]
            for row in Listing.objects.filter(
                consignor_id__in={agreement.consignor_id for agreement in page},
                status__in=CONSIGNMENT_OPEN_STATUSES,
            )
            .values("seller_organisation_id", "consignor_id")
            .annotate(count=Count("pk"))
        }
        rows = [(agreement, counts.get((agreement.shop_id, agreement.consignor_id), 0)) for agreement in page]
        context.update(query=query, rows=rows)
        return context

    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            agreement_id = int(request.POST.get("agreement_id", ""))
        except ValueError:
            agreement_id = 0
        try:
            report = services.agreement_release(
                staff=request.user,  # type: ignore[arg-type]
                agreement_id=agreement_id,
                reason=request.POST.get("reason", ""),
            )
        except DomainError as exc:
            message = exc.message
            if isinstance(exc, ValidationFailed):
                extra = [m for ms in (exc.details.get("fields") or {}).values() for m in ms]
                message = " ".join([message, *extra])
            messages.error(request, message)
        else:
            text = gettext("The consignor was released; %(count)s listings were withdrawn and the shop was told.") % {
                "count": len(report.withdrawn)
            }
            if report.reserved:
                text += " " + gettext(
                    "%(count)s reserved listings stay with their buyers' orders until those finish."
                ) % {"count": len(report.reserved)}
            messages.success(request, text)
        return HttpResponseRedirect(reverse("consignment_admin_agreements"))
