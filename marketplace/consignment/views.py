"""Consignment pages: the shop's agreements, intake, tags and payouts, and the consignor's
portal. Thin: parse, call a service or selector, render. Objects of a shop the user does
not manage are not shown to exist (404)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from marketplace.consignment import selectors, services
from marketplace.consignment.forms import AgreementForm, PayoutForm, intake_formset_class, to_fen
from marketplace.consignment.models import AgreementStatus, ConsignmentAgreement, ConsignmentItem, IntakeBatch
from marketplace.consignment.pdf import tags_pdf
from marketplace.errors import DomainError, NotFound, ValidationFailed
from marketplace.extensions import badges_for
from marketplace.models import Organisation, User
from marketplace.templatetags.listing_tags import format_money


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _managed_shop(request: HttpRequest, shop_id: int) -> Organisation:
    shop = Organisation.objects.filter(pk=shop_id).first()
    if shop is None or not selectors.user_manages_shop(user=_user(request), shop_id=shop.pk):
        raise Http404(_("No such shop."))
    return shop


def _managed_agreement(request: HttpRequest, agreement_id: int) -> ConsignmentAgreement:
    agreement = selectors.agreement_detail(agreement_id=agreement_id)
    if agreement is None or not selectors.user_manages_shop(user=_user(request), shop_id=agreement.shop_id):
        raise Http404(_("No such consignment agreement."))
    return agreement


def _managed_batch(request: HttpRequest, batch_id: int) -> IntakeBatch:
    batch = selectors.batch_detail(batch_id=batch_id)
    if batch is None or not selectors.user_manages_shop(user=_user(request), shop_id=batch.agreement.shop_id):
        raise Http404(_("No such intake batch."))
    return batch


# --- Shop side -----------------------------------------------------------------------------------


@login_required
@require_GET
def shop_home(request: HttpRequest) -> HttpResponse:
    shops = list(selectors.shops_managed_by(user=_user(request)))
    if len(shops) == 1:
        return redirect("consignment_shop", shop_id=shops[0].pk)
    return render(request, "consignment/shop_choose.html", {"shops": shops})


@login_required
@require_GET
def shop_agreements(request: HttpRequest, shop_id: int) -> HttpResponse:
    shop = _managed_shop(request, shop_id)
    agreements = list(selectors.agreements_of_shop(shop=shop))
    balances = selectors.balances_of_shop(shop_id=shop.pk)
    rows = [
        (agreement, balances.get(agreement.consignor_id, 0) if agreement.consignor_id else 0)
        for agreement in agreements
    ]
    return render(request, "consignment/shop_agreements.html", {"shop": shop, "rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def agreement_new(request: HttpRequest, shop_id: int) -> HttpResponse:
    shop = _managed_shop(request, shop_id)
    form = AgreementForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            agreement = services.agreement_invite(actor=_user(request), shop=shop, **form.service_kwargs())
        except ValidationFailed as exc:
            fields = exc.details.get("fields", {})
            for name, errors in fields.items():
                for error in errors:
                    form.add_error(AgreementForm.ERROR_FIELDS.get(name), error)
            if not fields:
                form.add_error(None, exc.message)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("Invitation sent to %(email)s. You can take items in once the consignor accepts it in their account.")
                % {"email": agreement.invited_email},
            )
            return redirect("consignment_agreement", pk=agreement.pk)
    return render(request, "consignment/agreement_form.html", {"shop": shop, "form": form})


@login_required
@require_GET
def agreement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    agreement = _managed_agreement(request, pk)
    items = list(selectors.items_of_agreement(agreement=agreement))
    context: dict[str, Any] = {
        "agreement": agreement,
        "tiers": list(agreement.tiers.all()),
        "steps": list(agreement.markdown_steps.all()),
        "items": selectors.item_views(items),
        "payouts": list(selectors.payouts_of_agreement(agreement=agreement)),
        "balance": (
            selectors.balance_for(shop_id=agreement.shop_id, consignor_id=agreement.consignor_id)
            if agreement.consignor_id
            else 0
        ),
        "payout_form": PayoutForm(),
    }
    return render(request, "consignment/agreement_detail.html", context)


@login_required
@require_POST
def agreement_end_view(request: HttpRequest, pk: int) -> HttpResponse:
    agreement = _managed_agreement(request, pk)
    was_invitation = agreement.status == AgreementStatus.INVITED
    services.agreement_end(actor=_user(request), agreement_id=agreement.pk)
    if was_invitation:
        messages.success(request, _("The invitation was withdrawn."))
    else:
        messages.success(request, _("The agreement has ended. Items already taken in keep its terms."))
    return redirect("consignment_agreement", pk=agreement.pk)


@login_required
@require_POST
def agreement_payout(request: HttpRequest, pk: int) -> HttpResponse:
    agreement = _managed_agreement(request, pk)
    form = PayoutForm(request.POST)
    if form.is_valid():
        try:
            amount = to_fen(form.cleaned_data["amount_yuan"]) or 0
            services.consignor_payout_record(
                actor=_user(request),
                agreement_id=agreement.pk,
                amount=amount,
                method=form.cleaned_data["method"],
                reference=form.cleaned_data.get("reference") or "",
            )
        except DomainError as exc:
            messages.error(request, exc.message)
            for errors in exc.details.get("fields", {}).values():
                for error in errors:
                    messages.error(request, error)
        else:
            messages.success(request, _("Payout of %(amount)s recorded.") % {"amount": format_money(amount)})
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
    return redirect(reverse("consignment_agreement", args=(agreement.pk,)) + "#payouts")


@login_required
@require_http_methods(["GET", "POST"])
def intake(request: HttpRequest, pk: int) -> HttpResponse:
    agreement = _managed_agreement(request, pk)
    if not agreement.is_active:
        messages.error(
            request, _("Items are taken in only under an agreement the consignor accepted and that has not ended.")
        )
        return redirect("consignment_agreement", pk=agreement.pk)
    try:
        rows = max(1, min(int(request.GET.get("rows", "3")), 30))
    except ValueError:
        rows = 3
    formset = intake_formset_class(rows)(request.POST or None, prefix="items")
    if request.method == "POST" and formset.is_valid():
        used = [form for form in formset.forms if form.has_changed()]
        try:
            batch = services.intake_batch_create(
                actor=_user(request), agreement_id=agreement.pk, lines=[form.line() for form in used]
            )
        except ValidationFailed as exc:
            fields = exc.details.get("fields", {})
            for key, errors in fields.items():
                _items, index, name = key.split(".", 2)
                used[int(index) - 1].place_error(name, errors)
            if not fields:
                messages.error(request, exc.message)
            else:
                messages.error(request, _("Nothing was saved: correct the marked items and send the batch again."))
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                ngettext(
                    "%(count)s item taken in. Print its tag, add photos and publish it.",
                    "%(count)s items taken in. Print their tags, add photos and publish them.",
                    len(used),
                )
                % {"count": len(used)},
            )
            return redirect("consignment_batch", pk=batch.pk)
    return render(
        request,
        "consignment/intake.html",
        {"agreement": agreement, "formset": formset, "more_rows": min(rows + 3, 30)},
    )


@login_required
@require_GET
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _managed_batch(request, pk)
    items: list[ConsignmentItem] = list(batch.items.all())
    return render(request, "consignment/batch.html", {"batch": batch, "items": selectors.item_views(items)})


@login_required
@require_POST
def batch_publish_view(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _managed_batch(request, pk)
    published, blocked = services.batch_publish(actor=_user(request), batch_id=batch.pk)
    if published:
        count = len(published)
        messages.success(
            request, ngettext("%(count)s item published.", "%(count)s items published.", count) % {"count": count}
        )
    codes = {item.listing_id: item.item_code for item in batch.items.all()}
    for listing_id, error in blocked.items():
        reasons = "; ".join(str(reason.message) for reason in error.reasons)
        messages.warning(request, f"{codes.get(listing_id, '')}: {reasons}")
    if not published and not blocked:
        messages.info(request, _("Nothing to publish."))
    return redirect("consignment_batch", pk=batch.pk)


@login_required
@require_GET
def batch_tags(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _managed_batch(request, pk)
    items: list[ConsignmentItem] = list(batch.items.all())
    badges = {
        listing_id: [badge.label for badge in found]
        for listing_id, found in badges_for([item.listing for item in items]).items()
    }
    pdf = tags_pdf(
        items=items,
        listing_url=lambda item: request.build_absolute_uri(reverse("listing_detail", args=(item.listing_id,))),
        badges=badges,
        shop_name=batch.agreement.shop.name,
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="tags-batch-{batch.pk}.pdf"'
    return response


# --- The consignor's portal -------------------------------------------------------------------------


@login_required
@require_GET
def portal(request: HttpRequest) -> HttpResponse:
    consignor = _user(request)
    items = selectors.portal_items(consignor=consignor)
    context = {
        "invitations": selectors.portal_invitations(consignor=consignor),
        "agreements": selectors.portal_agreements(consignor=consignor),
        "items": selectors.item_views(items),
        "sales": selectors.portal_sales(consignor=consignor),
        "balances": selectors.portal_balances(consignor=consignor),
        "payouts": selectors.portal_payouts(consignor=consignor),
    }
    return render(request, "consignment/portal.html", context)


def _portal_action(request: HttpRequest, action: Any, agreement_id: int, success: str) -> HttpResponse:
    try:
        action(consignor=_user(request), agreement_id=agreement_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)
    return redirect("consignment_portal")


@login_required
@require_POST
def invitation_accept(request: HttpRequest, pk: int) -> HttpResponse:
    return _portal_action(
        request,
        services.agreement_accept,
        pk,
        _("You accepted the agreement. The shop can now take your items in and list them in your name."),
    )


@login_required
@require_POST
def invitation_decline(request: HttpRequest, pk: int) -> HttpResponse:
    return _portal_action(
        request,
        services.agreement_decline,
        pk,
        _("You declined the invitation. The shop cannot list anything in your name."),
    )


@login_required
@require_POST
def consignor_agreement_end(request: HttpRequest, pk: int) -> HttpResponse:
    return _portal_action(
        request,
        services.agreement_end_by_consignor,
        pk,
        _("Your agreement has ended. The shop can no longer take items in or list them in your name."),
    )
