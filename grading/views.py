"""Grading pages: the public grading standards (every published rule-set version), the
seller's self-assessment and appraisal request, and the appraisers' queue, grading form
and credentials.

Thin: parse the form, call a grading service or selector, render. The services decide
who may do what (the seller; appraisers with two-factor authentication and a valid
credential); a missing second factor or role becomes a friendly page that says how to
get it, other refusals a message."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from grading.badges import grade_label
from grading.forms import CredentialForm, GradingForm, SignAppraisalForm
from grading.models import Appraisal, AppraiserCredential, RuleSetVersion
from grading.presentation import current_language, standard_view
from grading.selectors import (
    appraisal_request_active,
    appraiser_credentials_of,
    ruleset_live,
    ruleset_version,
    ruleset_versions,
    rulesets_live,
    user_is_appraiser,
)
from grading.services import (
    SELF_ASSESSABLE,
    appraisal_claim,
    appraisal_claimed,
    appraisal_queue,
    appraisal_request_create,
    appraisal_requests_claimed_by,
    appraisal_submit,
    credential_submit,
    current_appraisals,
    listing_facts,
    parsed,
    ruleset_for_listing,
    self_assessment_submit,
)
from marketplace.errors import Conflict, DomainError, MFARequired, NotFound, PermissionDenied, ValidationFailed
from marketplace.listing_display import attribute_rows
from marketplace.models import Category, Listing, User
from marketplace.selectors import listing_detail
from marketplace.services.accounts import user_has_mfa
from marketplace.services.listings import listing_can_view, listing_get_for_manage

# Refusals an appraiser can act on from the queue; other refusals (no appraiser role, no
# second factor) get the page that explains how to become able to grade.
QUEUE_MESSAGE_CODES = frozenset({"conflict_of_interest", "credential_required", "not_claimed"})


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


# --- Grading standards (public) ----------------------------------------------------------


@require_GET
def standards_index(request: HttpRequest) -> HttpResponse:
    language = current_language()
    standards = [
        standard_view(
            version.document,
            content_hash=version.content_hash,
            published_at=version.published_at,
            status=version.status,
            language=language,
        )
        for version in rulesets_live()
    ]
    return render(request, "grading/standards_index.html", {"standards": standards})


@require_GET
def standards_detail(request: HttpRequest, key: str, version: str | None = None) -> HttpResponse:
    live = ruleset_live(key=key)
    shown: RuleSetVersion | None = live if version is None else ruleset_version(key=key, version=version)
    if shown is None:
        raise Http404(_("No such grading standard."))
    standard = standard_view(
        shown.document,
        content_hash=shown.content_hash,
        published_at=shown.published_at,
        status=shown.status,
    )
    return render(
        request,
        "grading/standards_detail.html",
        {
            "standard": standard,
            "shown": shown,
            "live": live,
            "is_live": live is not None and live.pk == shown.pk,
            "versions": list(ruleset_versions(key=key)),
            "api_url": f"/api/v1/grading/rulesets/{shown.category}"
            + (f"?device_type={shown.device_types[0]}" if shown.device_types else ""),
        },
    )


# --- Sellers: self-assessment and appraisal requests ---------------------------------------


def _managed_listing(user: User, pk: int) -> Listing:
    """The listing if `user` may manage it; anyone else gets a 404, as on the manage page."""
    try:
        return listing_get_for_manage(user=user, listing_id=pk)
    except (NotFound, PermissionDenied) as exc:
        raise Http404(exc.message) from exc


def _gate_labels(appraisal: Appraisal) -> str:
    language = current_language()
    failures = set(appraisal.result.get("gate_failures", []))
    labels = []
    for gate in appraisal.rule_set.document.get("gates", []):
        if gate["key"] in failures:
            label = gate["label"]
            labels.append(str(label.get(language, label.get("zh")) if isinstance(label, dict) else label))
    return "; ".join(labels) or appraisal.grade


def _graded_message(appraisal: Appraisal) -> str:
    if appraisal.sellable:
        return _("Self-assessed: grade %(grade)s. Publish the listing when nothing else blocks it.") % {
            "grade": grade_label(appraisal)
        }
    return _("Self-assessed: the item cannot be sold (%(why)s).") % {"why": _gate_labels(appraisal)}


@login_required
@require_http_methods(["GET", "POST"])
def self_assessment(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    listing = _managed_listing(user, pk)
    if listing.category not in SELF_ASSESSABLE:
        return render(
            request,
            "grading/self_assessment_unavailable.html",
            {"listing": listing, "active_request": appraisal_request_active(listing_id=listing.pk)},
        )
    try:
        version = ruleset_for_listing(listing)
    except NotFound as exc:
        messages.error(request, exc.message)
        return redirect("listing_manage", pk=listing.pk)
    current = current_appraisals([listing.pk]).get(listing.pk)
    # A re-assessment starts from the answers of the current one, when they fit this version.
    initial = current.answers if current is not None and current.rule_set_id == version.pk else None
    form = GradingForm(
        request.POST if request.method == "POST" else None,
        rule_set=parsed(version),
        facts=listing_facts(listing),
        language=current_language(),
        initial_answers=initial,
    )
    if request.method == "POST" and form.is_valid():
        try:
            appraisal = self_assessment_submit(actor=user, listing_id=listing.pk, answers=form.answers())
        except ValidationFailed as exc:
            form.add_answer_errors(exc.details.get("answers") or {})
            if not exc.details.get("answers"):
                form.add_error(None, exc.message)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("listing_manage", pk=listing.pk)
        else:
            if appraisal.sellable:
                messages.success(request, _graded_message(appraisal))
            else:
                messages.warning(request, _graded_message(appraisal))
            return redirect("listing_manage", pk=listing.pk)
    return render(
        request,
        "grading/self_assessment.html",
        {"listing": listing, "form": form, "version": version, "current": current},
    )


@login_required
@require_http_methods(["GET", "POST"])
def request_appraisal(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    listing = _managed_listing(user, pk)
    if request.method == "POST":
        try:
            appraisal_request_create(actor=user, listing_id=listing.pk)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                _(
                    "Your item is in the appraisers' queue. A certified appraiser will claim it, inspect it and "
                    "sign a grade; you will get a notification."
                ),
            )
        return redirect("listing_manage", pk=listing.pk)
    return render(
        request,
        "grading/request_appraisal.html",
        {"listing": listing, "active_request": appraisal_request_active(listing_id=listing.pk)},
    )


# --- Appraisers ----------------------------------------------------------------------------


def _refused(request: HttpRequest, exc: DomainError) -> HttpResponse:
    """Why this person cannot act as an appraiser yet, and how to change that."""
    return render(
        request,
        "grading/appraiser_refused.html",
        {"message": exc.message, "needs_mfa": isinstance(exc, MFARequired), "mfa_url": reverse("mfa_activate_totp")},
        status=403,
    )


def _appraiser_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Appraiser refusals the services raise become the friendly page, or a message on
    the queue for those an appraiser can do something about there."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except MFARequired as exc:
            return _refused(request, exc)
        except PermissionDenied as exc:
            if exc.code in QUEUE_MESSAGE_CODES:
                messages.error(request, exc.message)
                return redirect("appraisal_queue")
            return _refused(request, exc)
        except NotFound as exc:
            raise Http404(exc.message) from exc

    return wrapper


@login_required
@require_GET
@_appraiser_page
def queue(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    entries = appraisal_queue(appraiser=user)
    return render(
        request,
        "grading/queue.html",
        {"entries": entries, "claimed": appraisal_requests_claimed_by(appraiser=user)},
    )


@login_required
@require_POST
@_appraiser_page
def claim(request: HttpRequest, listing_id: int) -> HttpResponse:
    try:
        request_claimed = appraisal_claim(appraiser=_user(request), listing_id=listing_id)
    except Conflict:
        messages.error(request, _("Another appraiser has already claimed this item."))
        return redirect("appraisal_queue")
    except NotFound as exc:
        messages.error(request, exc.message)
        return redirect("appraisal_queue")
    messages.success(
        request,
        _("You claimed “%(title)s”. Inspect the item, then fill in the grading form and sign.")
        % {"title": request_claimed.listing.title},
    )
    return redirect("appraisal_grade", listing_id=listing_id)


@dataclass(frozen=True)
class ReferencePhoto:
    thumbnail: str | None
    full: str | None


@login_required
@require_http_methods(["GET", "POST"])
@_appraiser_page
def grade(request: HttpRequest, listing_id: int) -> HttpResponse:
    user = _user(request)
    appraisal_claimed(appraiser=user, listing_id=listing_id)
    listing = listing_detail(listing_id=listing_id)
    if listing is None:
        raise Http404(_("No such listing."))
    version = ruleset_for_listing(listing)
    posted = request.method == "POST"
    form = GradingForm(
        request.POST if posted else None,
        request.FILES if posted else None,
        rule_set=parsed(version),
        facts=listing_facts(listing),
        language=current_language(),
        evidence=True,
    )
    sign_form = SignAppraisalForm(request.POST if posted else None, prefix="sign")
    if posted and all([form.is_valid(), sign_form.is_valid()]):
        try:
            appraisal = appraisal_submit(
                appraiser=user, listing_id=listing_id, answers=form.answers(), evidence=form.evidence()
            )
        except ValidationFailed as exc:
            form.add_answer_errors(exc.details.get("answers") or {})
            for problem in (exc.details.get("fields") or {}).get("file", []):
                form.add_error(None, problem)
            if not exc.details.get("answers") and not exc.details.get("fields"):
                form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("Appraisal signed: %(grade)s.") % {"grade": grade_label(appraisal)}
                if appraisal.sellable
                else _("Appraisal signed: the item cannot be sold (%(why)s).") % {"why": _gate_labels(appraisal)},
            )
            if not appraisal.counts:
                messages.info(
                    request,
                    _(
                        "With your appraiser credit tier, staff review your grades before they count; the seller "
                        "sees this grade once it is approved."
                    ),
                )
            graded = listing_detail(listing_id=listing_id)
            if graded is not None and listing_can_view(user=user, listing=graded):
                return redirect("listing_detail", pk=listing_id)
            return redirect("appraisal_queue")
    photos = [
        ReferencePhoto(thumbnail=photo.rendition_url(320), full=photo.rendition_url(1920) or photo.rendition_url(960))
        for photo in listing.photos.all()
    ]
    return render(
        request,
        "grading/grade.html",
        {
            "listing": listing,
            "attribute_rows": attribute_rows(listing),
            "photos": photos,
            "form": form,
            "sign_form": sign_form,
            "version": version,
        },
    )


@dataclass(frozen=True)
class CredentialRow:
    credential: AppraiserCredential
    state: str  # verified | pending | expired | not_yet_valid | revoked
    state_label: str
    categories: list[str]


def _credential_row(credential: AppraiserCredential, today: dt.date) -> CredentialRow:
    if credential.revoked_at is not None:
        state, label = "revoked", _("Revoked")
    elif credential.valid_to < today:
        state, label = "expired", _("Expired")
    elif credential.verified_at is None:
        state, label = "pending", _("Waiting for verification by staff")
    elif credential.valid_from > today:
        state, label = "not_yet_valid", _("Verified, not valid yet")
    else:
        state, label = "verified", _("Verified")
    categories = [str(Category(c).label) if c in Category.values else c for c in credential.categories]
    return CredentialRow(credential=credential, state=state, state_label=label, categories=categories)


@login_required
@require_http_methods(["GET", "POST"])
def credentials(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    posted = request.method == "POST"
    form = CredentialForm(request.POST if posted else None, request.FILES if posted else None)
    if posted and form.is_valid():
        upload = form.cleaned_data["document"]
        try:
            credential_submit(
                user=user,
                issuer=form.cleaned_data["issuer"],
                number=form.cleaned_data["number"],
                categories=form.cleaned_data["categories"],
                valid_from=form.cleaned_data["valid_from"],
                valid_to=form.cleaned_data["valid_to"],
                document=(upload, upload.size or 0, upload.name or ""),
            )
        except ValidationFailed as exc:
            fields = exc.details.get("fields") or {}
            for name, problems in fields.items():
                for problem in problems:
                    form.add_error(name if name in form.fields else None, problem)
            if not fields:
                form.add_error(None, exc.message)
        else:
            messages.success(request, _("Your credential was submitted. Staff will check the document and verify it."))
            return redirect("appraiser_credentials")
    today = timezone.localdate()
    return render(
        request,
        "grading/credentials.html",
        {
            "form": form,
            "rows": [_credential_row(c, today) for c in appraiser_credentials_of(user=user)],
            "has_mfa": user_has_mfa(user=user),
            "is_appraiser": user_is_appraiser(user=user),
            "mfa_url": reverse("mfa_activate_totp"),
        },
    )
