"""Credit pages: rating an order, "my credit" (the breakdown, appeals, sharing), the
public profile and the published report key. Thin: parse, call a service or selector, render."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from marketplace.credit import services
from marketplace.credit.forms import AppealForm, RatingForm
from marketplace.credit.models import CreditRole
from marketplace.credit.report import published_keys, signed_report, signing_key_fingerprint
from marketplace.credit.selectors import consent_of, credit_breakdown, order_ratings, public_credit, tier_label
from marketplace.errors import DomainError, NotFound, ValidationFailed
from marketplace.models import User
from marketplace.services.orders import order_get_for_party, order_party


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _flash(request: HttpRequest, exc: DomainError) -> None:
    messages.error(request, exc.message)
    if isinstance(exc, ValidationFailed):
        for field_messages in (exc.details.get("fields") or {}).values():
            for message in field_messages:
                if message != exc.message:
                    messages.error(request, message)


@login_required
@require_http_methods(["GET", "POST"])
def order_rate(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    try:
        order = order_get_for_party(user=user, order_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    party = order_party(user, order)
    if party not in ("buyer", "seller"):
        raise Http404
    ratings = order_ratings(order=order, party=party)
    initial = {}
    if ratings.mine is not None:
        initial = {
            "stars": ratings.mine.stars,
            "as_described": ratings.mine.as_described,
            "communication": ratings.mine.communication,
            "speed": ratings.mine.speed,
            "comment": ratings.mine.comment,
        }
    form = RatingForm(request.POST or None, party=party, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.rating_submit(
                    user=user,
                    order_id=order.pk,
                    stars=data["stars"],
                    as_described=data.get("as_described"),
                    communication=data["communication"],
                    speed=data["speed"],
                    comment=data.get("comment", ""),
                )
            except DomainError as exc:
                _flash(request, exc)
            else:
                messages.success(request, _("Thank you, your rating is saved."))
                return redirect("credit_order_rate", pk=order.pk)
        elif set(form.errors) - {"comment"}:
            messages.error(request, _("Choose 1 to 5 stars for each question."))
        else:
            messages.error(request, _("Check your comment."))
        ratings = order_ratings(order=order, party=party)
    return render(
        request,
        "credit/rate.html",
        {"order": order, "party": party, "ratings": ratings, "form": form},
        status=422 if request.method == "POST" and not form.is_valid() else 200,
    )


@login_required
@require_GET
def my_credit(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    role = request.GET.get("role") or CreditRole.SELLER
    if role not in CreditRole.values:
        role = CreditRole.SELLER
    breakdown = credit_breakdown(user=user, role=role)
    return render(
        request,
        "credit/mine.html",
        {
            "breakdown": breakdown,
            "role": role,
            "role_choices": [(r, CreditRole(r).label) for r in breakdown.roles],
            "tier_label": tier_label(breakdown.tier.key),
            "next_tier_label": tier_label(breakdown.next_tier.key) if breakdown.next_tier else "",
            "score_tier_label": tier_label(breakdown.score_tier.key) if breakdown.score_tier else "",
            "appeal_form": AppealForm(),
            "consent": consent_of(user),
            "report_key_fingerprint": signing_key_fingerprint(),
        },
    )


@login_required
@require_POST
def my_credit_appeal(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    event_id = request.POST.get("event_id") or None
    try:
        services.credit_appeal_submit(
            user=user,
            role=request.POST.get("role", CreditRole.SELLER),
            text=request.POST.get("text", ""),
            event_id=int(event_id) if event_id and event_id.isdigit() else None,
        )
    except DomainError as exc:
        _flash(request, exc)
    else:
        messages.success(request, _("Your appeal was sent to the moderators; you will be told their decision."))
    return redirect(f"/my/credit/?role={request.POST.get('role', CreditRole.SELLER)}")


@login_required
@require_POST
def my_credit_consent(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if request.POST.get("consent") == "grant":
        services.credit_consent_grant(user=user)
        messages.success(request, _("Partners you share your report with can now fetch it."))
    else:
        services.credit_consent_withdraw(user=user)
        messages.success(request, _("Consent withdrawn: partners can no longer fetch your credit report."))
    return redirect("credit_mine")


@login_required
@require_GET
def my_credit_report(request: HttpRequest) -> HttpResponse:
    bundle = signed_report(user=_user(request))
    response = HttpResponse(
        json.dumps(bundle, ensure_ascii=False, indent=2), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="xunhuan-credit-report-{request.user.pk}.json"'
    return response


@require_GET
def profile(request: HttpRequest, pk: int) -> HttpResponse:
    subject = get_object_or_404(User, pk=pk, is_active=True)
    return render(request, "credit/profile.html", {"subject": subject, "credit": public_credit(user=subject)})


@require_GET
def credit_keys(request: HttpRequest) -> JsonResponse:
    return JsonResponse(published_keys())
