"""Grading in the JSON API: the live rule sets, self-assessment, the appraisers' queue,
claiming and signing, the current appraisal of a listing and its fair price band.

The paths and the JSON are a public contract. Endpoints stay thin: parse the request,
call a grading service, render. Authentication is the marketplace API's: allauth's
browser session or its headless token in X-Session-Token; public reads let visitors in."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import IO, Any, cast

from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from pydantic import ConfigDict, Field

from grading.models import Appraisal, RuleSetVersion
from grading.services import (
    appraisal_claim,
    appraisal_digest_valid,
    appraisal_queue,
    appraisal_submit,
    current_appraisals,
    listing_device_type,
    listing_valuation,
    ruleset_active,
    self_assessment_submit,
)
from marketplace.api.common import PUBLIC_READ_AUTH, ErrorOut, request_user
from marketplace.errors import NotFound, ValidationFailed
from marketplace.models import Category, DeviceType, Listing, User
from marketplace.selectors import listing_detail
from marketplace.services.listings import listing_can_view
from marketplace.services.moderation import listing_url

router = Router(tags=["grading"])

# Electronics have two rule sets; without ?device_type= the phone/tablet/laptop one.
DEFAULT_DEVICE_TYPE = DeviceType.PHONE


# --- Input ------------------------------------------------------------------------


class AnswersIn(Schema):
    model_config = ConfigDict(extra="forbid")

    answers: dict[str, Any] = Field(description="Answers by checklist item key, as the rule set defines them.")


# --- Output -----------------------------------------------------------------------


class TextOut(Schema):
    zh: str
    en: str


class RuleSetOut(Schema):
    key: str
    version: str
    content_hash: str = Field(description="SHA-256 of the RFC 8785 canonical JSON of the document.")
    published_at: dt.datetime | None
    category: str
    device_types: list[str]
    standards_url: str
    document: dict[str, Any] = Field(
        description="The whole rule set: sections, items, gates, grades, bands, citations, bilingual labels."
    )


class RuleSetRefOut(Schema):
    key: str
    version: str
    hash: str


class AppraisalOut(Schema):
    id: int
    listing_id: int
    kind: str = Field(description="self (self-assessed by the seller) or certified")
    current: bool
    grade: str | None = Field(description="None when the item was found not sellable.")
    grade_label: TextOut | None
    sellable: bool
    score: float | None
    section_scores: dict[str, float]
    gate_failures: list[str]
    explanation: list[str] = Field(description="In the request's language (Accept-Language: zh or en).")
    rule_set: RuleSetRefOut
    standards_url: str
    appraiser_name: str = Field(description="The public name of whoever graded; never an e-mail address.")
    institution: str | None = Field(description="The appraisal institution, for certified appraisals.")
    signed_at: dt.datetime
    digest: str
    digest_valid: bool = Field(description="The stored record still matches the digest taken when it was signed.")


class QueueEntryOut(Schema):
    listing_id: int
    title: str
    category: str
    device_type: str
    city: str
    district: str
    requested_at: dt.datetime
    url: str


class ClaimOut(Schema):
    listing_id: int
    status: str
    claimed_at: dt.datetime | None


class ValuationOut(Schema):
    available: bool = Field(description="False when there is too little to go on (no comparables, no reference price).")
    low: int | None = Field(description="In minor units (fen).")
    fair: int | None
    high: int | None
    base: int | None
    method: str | None = Field(description="comparables, years_used or depreciation")
    comparables_used: int
    currency: str
    asking_price: int
    position: str | None = Field(description="below, within or above the band")


# --- Rendering --------------------------------------------------------------------


def _text(value: Mapping[str, str] | str) -> dict[str, str]:
    if isinstance(value, str):
        return {"zh": value, "en": value}
    return {"zh": value["zh"], "en": value["en"]}


def standards_url(rule_set_key: str) -> str:
    return f"/grading/standards/{rule_set_key}/"


def _request_language() -> str:
    return "en" if (translation.get_language() or "").startswith("en") else "zh"


def ruleset_json(version: RuleSetVersion) -> dict[str, Any]:
    return {
        "key": version.key,
        "version": version.version,
        "content_hash": version.content_hash,
        "published_at": version.published_at,
        "category": version.category,
        "device_types": list(version.device_types or []),
        "standards_url": standards_url(version.key),
        "document": version.document,
    }


def grade_label(appraisal: Appraisal) -> dict[str, str] | None:
    if not appraisal.grade:
        return None
    for grade in appraisal.rule_set.document.get("grades", []):
        if grade["key"] == appraisal.grade:
            return _text(grade["label"])
    return {"zh": appraisal.grade, "en": appraisal.grade}


def appraisal_json(appraisal: Appraisal) -> dict[str, Any]:
    language = _request_language()
    result = appraisal.result
    return {
        "id": appraisal.pk,
        "listing_id": appraisal.listing_id,
        "kind": appraisal.kind,
        "current": appraisal.is_current,
        "grade": appraisal.grade or None,
        "grade_label": grade_label(appraisal),
        "sellable": appraisal.sellable,
        "score": appraisal.score,
        "section_scores": result.get("section_scores", {}),
        "gate_failures": result.get("gate_failures", []),
        "explanation": [finding["text"][language] for finding in result.get("findings", [])],
        "rule_set": {
            "key": appraisal.rule_set_key,
            "version": appraisal.rule_set_version,
            "hash": appraisal.rule_set_hash,
        },
        "standards_url": standards_url(appraisal.rule_set_key),
        "appraiser_name": appraisal.appraiser.public_name,
        "institution": appraisal.organisation.name if appraisal.organisation is not None else None,
        "signed_at": appraisal.signed_at,
        "digest": appraisal.digest,
        "digest_valid": appraisal_digest_valid(appraisal),
    }


def _viewable_listing(user: User, listing_id: int) -> Listing:
    listing = listing_detail(listing_id=listing_id)
    if listing is None or not listing_can_view(user=user, listing=listing):
        raise NotFound(_("No such listing."))
    return listing


def _answers_error(message: str) -> ValidationFailed:
    return ValidationFailed(_("The request is not valid."), details={"fields": {"answers": [message]}})


def _parse_answers(raw: Any) -> dict[str, Any]:
    if isinstance(raw, str | bytes):
        try:
            raw = json.loads(raw or "null")
        except ValueError as exc:
            raise _answers_error(_("Send the answers as a JSON object.")) from exc
    if not isinstance(raw, dict):
        raise _answers_error(_("Send the answers as a JSON object."))
    return raw


def _submission(request: HttpRequest) -> tuple[dict[str, Any], list[tuple[dict[str, str], IO[bytes], int, str]]]:
    """The answers and the evidence photos of a signed appraisal, from a JSON body or a
    multipart form (`answers` as JSON text, repeatable `evidence` files and a parallel
    repeatable `evidence_item` "item:position:defect")."""
    if request.content_type == "multipart/form-data":
        answers = _parse_answers(request.POST.get("answers", ""))
        files = request.FILES.getlist("evidence")
        items = request.POST.getlist("evidence_item")
        if len(items) != len(files):
            raise ValidationFailed(
                _("The request is not valid."),
                details={
                    "fields": {"evidence_item": [_("Give one evidence_item (item:position:defect) per evidence file.")]}
                },
            )
        evidence = []
        for upload, described in zip(files, items, strict=True):
            item, position, defect = [*described.split(":", 2), "", ""][:3]
            if not item:
                raise ValidationFailed(
                    _("The request is not valid."),
                    details={"fields": {"evidence_item": [_("Each evidence_item must name a checklist item.")]}},
                )
            evidence.append(
                (
                    {"item": item, "position": position, "defect": defect},
                    cast(IO[bytes], upload),
                    upload.size or 0,
                    upload.name or "",
                )
            )
        return answers, evidence
    try:
        body = json.loads(request.body or b"null")
    except ValueError as exc:
        raise _answers_error(_("Send the answers as a JSON object.")) from exc
    if not isinstance(body, dict) or set(body) != {"answers"}:
        raise _answers_error(_('Send {"answers": {…}} and nothing else.'))
    return _parse_answers(body["answers"]), []


# --- Endpoints --------------------------------------------------------------------


@router.get(
    "/grading/rulesets/{category}",
    response={200: RuleSetOut, 404: ErrorOut, 422: ErrorOut},
    auth=PUBLIC_READ_AUTH,
)
def ruleset_read(request: HttpRequest, category: str, device_type: str = "") -> dict[str, Any]:
    """The active (newest published) rule set of a category. For electronics, ?device_type=
    picks the set (phone, tablet and laptop share one; the default is phone)."""
    if category not in Category.values:
        raise NotFound(_("No such category."))
    if category == Category.ELECTRONICS:
        device_type = device_type or DEFAULT_DEVICE_TYPE
        if device_type not in DeviceType.values:
            raise ValidationFailed(
                _("The request is not valid."),
                details={"fields": {"device_type": [_("Unknown device type.")]}},
            )
    version = ruleset_active(category=category, device_type=device_type)
    if version is None:
        raise NotFound(_("No grading standard is published for this kind of item yet."))
    return ruleset_json(version)


@router.post(
    "/listings/{int:listing_id}/self-assessment",
    response={201: AppraisalOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
)
def self_assessment_endpoint(request: HttpRequest, listing_id: int, payload: AnswersIn) -> Status[dict[str, Any]]:
    """The seller grades their own book or furniture (shown as self-assessed). Electronics
    and vehicles: 403 certified_required. Answers that do not fit the rule set: 422 with
    `details.answers` keyed by item."""
    appraisal = self_assessment_submit(actor=request_user(request), listing_id=listing_id, answers=payload.answers)
    return Status(201, appraisal_json(appraisal))


@router.get("/appraisals/queue", response={200: list[QueueEntryOut], 401: ErrorOut, 403: ErrorOut})
def appraisal_queue_endpoint(request: HttpRequest) -> list[dict[str, Any]]:
    """Listings waiting for a certified appraisal in the caller's credentialed categories,
    oldest request first (appraisers with two-factor authentication only)."""
    return [
        {
            "listing_id": entry.listing_id,
            "title": entry.listing.title,
            "category": entry.category,
            "device_type": listing_device_type(entry.listing) if entry.category == Category.ELECTRONICS else "",
            "city": entry.listing.city,
            "district": entry.listing.district,
            "requested_at": entry.created_at,
            "url": listing_url(entry.listing),
        }
        for entry in appraisal_queue(appraiser=request_user(request))
    ]


@router.post(
    "/listings/{int:listing_id}/appraisal/claim",
    response={200: ClaimOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
)
def appraisal_claim_endpoint(request: HttpRequest, listing_id: int) -> dict[str, Any]:
    """Claim a queued listing. Of two appraisers racing, the second gets 409 already_claimed."""
    claim = appraisal_claim(appraiser=request_user(request), listing_id=listing_id)
    return {"listing_id": claim.listing_id, "status": claim.status, "claimed_at": claim.claimed_at}


@router.post(
    "/listings/{int:listing_id}/appraisals",
    response={201: AppraisalOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {"answers": {"type": "object"}},
                        "required": ["answers"],
                        "additionalProperties": False,
                    }
                },
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "answers": {"type": "string", "description": "The answers as JSON text."},
                            "evidence": {"type": "array", "items": {"type": "string", "format": "binary"}},
                            "evidence_item": {
                                "type": "array",
                                "items": {"type": "string"},
                                "description": "One per evidence file, in order: item:position:defect",
                            },
                        },
                        "required": ["answers"],
                    }
                },
            },
            "required": True,
        }
    },
)
def appraisal_submit_endpoint(request: HttpRequest, listing_id: int) -> Status[dict[str, Any]]:
    """Grade and sign a claimed listing. A signed appraisal never changes; grading again
    supersedes it. Evidence photos are stripped of metadata and kept privately."""
    answers, evidence = _submission(request)
    appraisal = appraisal_submit(
        appraiser=request_user(request), listing_id=listing_id, answers=answers, evidence=evidence
    )
    return Status(201, appraisal_json(appraisal))


@router.get(
    "/listings/{int:listing_id}/appraisal",
    response={200: AppraisalOut, 401: ErrorOut, 404: ErrorOut},
    auth=PUBLIC_READ_AUTH,
)
def appraisal_current(request: HttpRequest, listing_id: int) -> dict[str, Any]:
    """The listing's current grade: who graded it, when, and under which rule-set version.
    404 `not_graded` when it has none yet."""
    listing = _viewable_listing(request_user(request), listing_id)
    appraisal = current_appraisals([listing.pk]).get(listing.pk)
    if appraisal is None:
        raise NotFound(_("This item has not been graded yet."), code="not_graded")
    return appraisal_json(appraisal)


@router.get(
    "/listings/{int:listing_id}/valuation",
    response={200: ValuationOut, 401: ErrorOut, 404: ErrorOut},
    auth=PUBLIC_READ_AUTH,
)
def listing_valuation_endpoint(request: HttpRequest, listing_id: int) -> dict[str, Any]:
    """The fair price band of a listing and where its asking price falls. Prices outside
    the band are shown to buyers and flagged to moderators, never blocked."""
    listing = _viewable_listing(request_user(request), listing_id)
    band = listing_valuation(listing=listing)
    common = {"currency": listing.currency, "asking_price": listing.price}
    if band is None:
        return {
            "available": False,
            "low": None,
            "fair": None,
            "high": None,
            "base": None,
            "method": None,
            "comparables_used": 0,
            "position": None,
            **common,
        }
    return {
        "available": True,
        "low": band.low,
        "fair": band.fair,
        "high": band.high,
        "base": band.base,
        "method": band.method,
        "comparables_used": band.comparables_used,
        "position": band.position_of(listing.price),
        **common,
    }
