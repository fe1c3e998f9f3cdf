"""Credit in the JSON API: rating an order, public tiers and counts, one's own score with
its breakdown, consent, the signed report, and the partner endpoint (token-scoped,
consenting users only)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from ninja.security import APIKeyHeader
from pydantic import ConfigDict, Field, StrictInt

from marketplace.api.common import ErrorOut, request_user
from marketplace.credit.models import CreditRole, PartnerToken, Rating
from marketplace.credit.report import published_keys, signed_report
from marketplace.credit.selectors import credit_breakdown, has_consent, order_ratings, public_credit, tier_label
from marketplace.credit.services import (
    credit_consent_grant,
    credit_consent_withdraw,
    partner_token_authenticate,
    rating_submit,
)
from marketplace.errors import PermissionDenied
from marketplace.models import User
from marketplace.services.orders import order_get_for_party, order_party

router = Router(tags=["credit"])

ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class RatingIn(Schema):
    model_config = ConfigDict(extra="forbid")

    stars: StrictInt = Field(ge=1, le=5)
    as_described: StrictInt | None = Field(default=None, ge=1, le=5, description="required when the buyer rates")
    communication: StrictInt = Field(ge=1, le=5)
    speed: StrictInt = Field(ge=1, le=5)


class RatingOut(Schema):
    rater_role: str
    stars: int
    as_described: int | None
    communication: int
    speed: int
    created_at: str
    visible_to_other_party: bool


class OrderRatingsOut(Schema):
    mine: RatingOut | None
    theirs: RatingOut | None
    theirs_sealed: bool
    can_rate: bool
    window_closes: str | None


def rating_json(rating: Rating) -> dict[str, Any]:
    return {
        "rater_role": rating.rater_role,
        "stars": rating.stars,
        "as_described": rating.as_described,
        "communication": rating.communication,
        "speed": rating.speed,
        "created_at": rating.created_at.isoformat(),
        "visible_to_other_party": rating.revealed_at is not None,
    }


def _ratings(user: User, order_id: int) -> dict[str, Any]:
    order = order_get_for_party(user=user, order_id=order_id)
    party = order_party(user, order)
    ratings = order_ratings(order=order, party=party)
    return {
        "mine": rating_json(ratings.mine) if ratings.mine else None,
        "theirs": rating_json(ratings.theirs) if ratings.theirs else None,
        "theirs_sealed": ratings.theirs_sealed,
        "can_rate": ratings.can_rate,
        "window_closes": ratings.window_closes.isoformat() if ratings.window_closes else None,
    }


@router.post("/orders/{order_id}/ratings", response={201: OrderRatingsOut, **ERRORS})
def order_rate(request: HttpRequest, order_id: int, payload: RatingIn) -> Status[dict[str, Any]]:
    """Rate the other party of a completed order (once; later only raised, never lowered).
    Their rating of you stays sealed until both rated or the 14-day window closed."""
    user = request_user(request)
    rating_submit(
        user=user,
        order_id=order_id,
        stars=payload.stars,
        as_described=payload.as_described,
        communication=payload.communication,
        speed=payload.speed,
    )
    return Status(201, _ratings(user, order_id))


@router.get("/orders/{order_id}/ratings", response={200: OrderRatingsOut, **ERRORS})
def order_ratings_get(request: HttpRequest, order_id: int) -> dict[str, Any]:
    return _ratings(request_user(request), order_id)


class TierOut(Schema):
    role: str
    tier: str
    tier_label: str


class PublicCreditOut(Schema):
    user_id: int
    name: str
    tiers: list[TierOut]
    completed_sales: int
    completed_purchases: int
    ratings_received: int
    positive_ratings: int
    badges: list[str]


@router.get("/users/{user_id}/credit", response={200: PublicCreditOut, 404: ErrorOut}, auth=None)
def user_credit(request: HttpRequest, user_id: int) -> dict[str, Any]:
    """Public: tiers, counts and badges (never the events themselves)."""
    subject = get_object_or_404(User, pk=user_id, is_active=True)
    credit = public_credit(user=subject)
    return {
        "user_id": subject.pk,
        "name": str(subject.public_name),
        "tiers": [{"role": r.role, "tier": r.tier, "tier_label": r.tier_label} for r in credit.roles],
        "completed_sales": credit.completed_sales,
        "completed_purchases": credit.completed_purchases,
        "ratings_received": credit.ratings_received,
        "positive_ratings": credit.positive_ratings,
        "badges": credit.badges,
    }


class ContributionOut(Schema):
    event_id: int
    kind: str
    kind_label: str
    occurred_at: str
    impact: float
    reason: str


class EffectOut(Schema):
    effect: str
    label: str
    limit: int | None


class MyCreditOut(Schema):
    role: str
    score: int
    tier: str
    tier_label: str
    next_tier: str | None
    next_tier_minimum: int | None
    contributions: list[ContributionOut]
    improvements: list[str]
    counts: dict[str, int]
    effects: list[EffectOut]
    sharing_consent: bool


class RoleQuery(Schema):
    role: str = Field(default=CreditRole.SELLER, description="seller, buyer, appraiser, erasure_provider or shop")


@router.get("/me/credit", response={200: MyCreditOut, **ERRORS})
def my_credit(request: HttpRequest, query: Query[RoleQuery]) -> dict[str, Any]:
    """Your score in one role with its breakdown: what moved it most and what would improve it."""
    user = request_user(request)
    role = query.role if query.role in CreditRole.values else CreditRole.SELLER
    b = credit_breakdown(user=user, role=role)
    return {
        "role": role,
        "score": b.score,
        "tier": b.tier.key,
        "tier_label": tier_label(b.tier.key),
        "next_tier": b.next_tier.key if b.next_tier else None,
        "next_tier_minimum": b.next_tier.minimum if b.next_tier else None,
        "contributions": [
            {
                "event_id": row.event.pk,
                "kind": row.event.kind,
                "kind_label": str(row.event.get_kind_display()),
                "occurred_at": row.event.occurred_at.isoformat(),
                "impact": round(row.impact, 1),
                "reason": row.event.reason if row.event.actor_id else "",
            }
            for row in b.top
        ],
        "improvements": b.hints,
        "counts": b.counts,
        "effects": [{"effect": e.effect, "label": str(e.get_effect_display()), "limit": e.limit} for e in b.effects],
        "sharing_consent": has_consent(user.pk),
    }


class ConsentOut(Schema):
    sharing_consent: bool


@router.post("/me/credit/consent", response={200: ConsentOut, **ERRORS})
def consent_grant(request: HttpRequest) -> dict[str, bool]:
    credit_consent_grant(user=request_user(request))
    return {"sharing_consent": True}


@router.delete("/me/credit/consent", response={200: ConsentOut, **ERRORS})
def consent_withdraw(request: HttpRequest) -> dict[str, bool]:
    credit_consent_withdraw(user=request_user(request))
    return {"sharing_consent": False}


@router.get("/me/credit/report", response={200: dict[str, Any], **ERRORS})
def my_report(request: HttpRequest) -> dict[str, Any]:
    """Your signed credit report (verify offline with
    `python -m marketplace.credit.verify FILE --keys credit-keys.json`)."""
    return signed_report(user=request_user(request))


class CreditKeyOut(Schema):
    key_id: str
    algorithm: str
    public_key: str = Field(description="raw 32-byte Ed25519 public key, base64")
    fingerprint: str = Field(
        description="lowercase hex SHA-256 of the raw public key; pin it with "
        "`python -m marketplace.credit.verify REPORT.json --trust FINGERPRINT`"
    )
    revoked_at: str | None = Field(description="ISO 8601 (UTC); reports signed at or after it are invalid")


class CreditKeysOut(Schema):
    keys: list[CreditKeyOut]


@router.get("/credit/keys", response=CreditKeysOut, auth=None)
def credit_keys(request: HttpRequest) -> dict[str, Any]:
    """The platform's published credit-report keys, the same document as
    /.well-known/credit-keys.json: save it and pass it to the verifier with `--keys FILE`."""
    return published_keys()


class PartnerTokenAuth(APIKeyHeader):
    """Partner platforms: `X-Partner-Token: xhp_…` (issued by staff in the admin)."""

    param_name = "X-Partner-Token"

    def authenticate(self, request: HttpRequest, key: str | None) -> PartnerToken | None:
        return partner_token_authenticate(key or "")


@router.get(
    "/partner/users/{user_id}/credit-report",
    response={200: dict[str, Any], 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    auth=PartnerTokenAuth(),
    tags=["partners"],
)
def partner_report(request: HttpRequest, user_id: int) -> dict[str, Any]:
    """The signed credit report of a user who consented to sharing; 403 otherwise
    (also after they withdraw consent)."""
    subject = get_object_or_404(User, pk=user_id, is_active=True)
    if not has_consent(subject.pk):
        raise PermissionDenied(_("This user has not agreed to share their credit report."), code="no_consent")
    return signed_report(user=subject)
