"""Every change to credit: recording events (`credit_event_record` is the only writer of
credit events), ratings, recomputing scores, ring flags, moderator adjustments and
appeals, sharing consent and partner tokens.

Scores are never written directly: an event is recorded, and after commit the subject's
score is recomputed from all their events (`credit_recompute`, a Celery task); the
nightly `credit_recompute_all` recomputes everyone the same way."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace.contact_screening import screen
from marketplace.credit import scoring
from marketplace.credit.models import (
    COMMENT_MAX_LENGTH,
    AppealStatus,
    CreditAppeal,
    CreditConsent,
    CreditEvent,
    CreditEventKind,
    CreditRole,
    CreditScore,
    CreditScoreHistory,
    PartnerToken,
    Rating,
    RatingRing,
    RingStatus,
    TierEffect,
    TierEffectKind,
)
from marketplace.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.models import Listing, ListingStatus, Membership, Order, Role, User
from marketplace.services.notifications import moderators, notify
from marketplace.services.outbox import task_enqueue_on_commit
from marketplace.signals import credit_tier_changed, listings_changed

K = CreditEventKind
SELLER_ROLES = (CreditRole.SELLER, CreditRole.SHOP)


def rating_window() -> dt.timedelta:
    return dt.timedelta(days=getattr(settings, "CREDIT_RATING_WINDOW_DAYS", 14))


def prior_score() -> int:
    return scoring.score([], now=timezone.now()).value


# role → tier key → completed orders the tier needs (TierEffectKind.MIN_COMPLETED_ORDERS).
MinOrders = Mapping[str, Mapping[str, int]]


def tier_min_orders() -> dict[str, dict[str, int]]:
    """The minimums of completed orders in the staff-edited policy table, per role and
    tier. One query."""
    found: dict[str, dict[str, int]] = {}
    rows = TierEffect.objects.filter(effect=TierEffectKind.MIN_COMPLETED_ORDERS, active=True)
    for role, tier, limit in rows.values_list("role", "tier", "limit"):
        found.setdefault(role, {})[tier] = int(limit or 0)
    return found


def prior_tier_key(role: str, min_orders: MinOrders, now: dt.datetime | None = None) -> str:
    """The tier of a newcomer (no records, no completed orders) in `role`."""
    return scoring.score([], now=now or timezone.now(), min_orders=min_orders.get(role)).tier.key


def tier_requirements_changed() -> None:
    """Staff changed the policy table: stored tiers follow the new minimums of completed
    orders after commit (a full recompute, the nightly job's work)."""
    from marketplace.credit.tasks import credit_recompute_all_task

    task_enqueue_on_commit(credit_recompute_all_task)


# --- Who is scored for an order ------------------------------------------------------------


def organisation_subjects(organisation_ids: Iterable[int]) -> dict[int, int]:
    """Organisation id → the user its credit is recorded on: its first owner. A shop is
    scored in role shop and an erasure provider in role erasure_provider on that user,
    apart from the owner's own record as a seller. One query."""
    found: dict[int, int] = {}
    rows = (
        Membership.objects.filter(organisation_id__in=set(organisation_ids), role=Role.OWNER)
        .order_by("organisation_id", "pk")
        .values_list("organisation_id", "user_id")
    )
    for organisation_id, user_id in rows:
        found.setdefault(int(organisation_id), int(user_id))
    return found


def seller_subject(order: Order) -> tuple[int, str] | None:
    """The person scored as the order's seller: the seller, or the shop's first owner (role shop)."""
    if order.seller_user_id is not None:
        return int(order.seller_user_id), CreditRole.SELLER
    if order.seller_organisation_id is None:
        return None
    owner = organisation_subjects([order.seller_organisation_id]).get(order.seller_organisation_id)
    return (owner, CreditRole.SHOP) if owner is not None else None


# --- Recording events ------------------------------------------------------------------------


def _validate_event(role: str, kind: str, positive: float, negative: float, weight: float) -> None:
    problems: dict[str, list[str]] = {}
    if role not in CreditRole.values:
        problems["role"] = [_("Unknown role.")]
    if kind not in CreditEventKind.values:
        problems["kind"] = [_("Unknown kind of credit event.")]
    if not (0 <= positive <= 1 and 0 <= negative <= 1):
        problems["evidence"] = [_("Evidence is between 0 and 1.")]
    if not weight > 0:
        problems["weight"] = [_("The size must be more than zero.")]
    if problems:
        raise ValidationFailed(_("This credit event is not valid."), details={"fields": problems})


@transaction.atomic
def credit_event_record(
    *,
    subject_id: int,
    role: str,
    kind: str,
    positive: float = 0.0,
    negative: float = 0.0,
    value_minor: int = 0,
    currency: str = "CNY",
    counterparty_id: int | None = None,
    rater_score: int | None = None,
    weight: float = 1.0,
    source: models.Model | None = None,
    occurred_at: dt.datetime | None = None,
    actor: User | None = None,
    reason: str = "",
    reverses: CreditEvent | None = None,
    dedupe_key: str = "",
    recompute: bool = True,
) -> CreditEvent:
    """Append one credit event (the only way one is written) and recompute the subject's
    score after commit. With a `dedupe_key` the same fact is recorded once. Callers that
    record many events of one subject pass `recompute=False` and schedule one recompute
    per subject themselves (`recompute_after_commit`)."""
    _validate_event(role, kind, positive, negative, weight)
    if dedupe_key:
        existing = CreditEvent.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    event = CreditEvent(
        subject_id=subject_id,
        role=role,
        kind=kind,
        positive=positive,
        negative=negative,
        value_minor=max(0, int(value_minor)),
        currency=currency,
        counterparty_id=counterparty_id,
        rater_score=rater_score,
        weight=weight,
        source_type=ContentType.objects.get_for_model(source) if source is not None else None,
        source_id=str(source.pk) if source is not None else "",
        occurred_at=occurred_at or timezone.now(),
        actor=actor,
        reason=reason[:5000],
        reverses=reverses,
        dedupe_key=dedupe_key[:120],
    )
    try:
        with transaction.atomic():
            event.save()
    except IntegrityError:
        existing = CreditEvent.objects.filter(dedupe_key=dedupe_key).first() if dedupe_key else None
        if existing is None:
            raise
        return existing
    if recompute:
        _recompute_after_commit(subject_id, role)
    return event


def recompute_after_commit(user_id: int, role: str) -> None:
    _recompute_after_commit(user_id, role)


def _recompute_after_commit(user_id: int, role: str) -> None:
    from marketplace.credit.tasks import credit_recompute_task

    task_enqueue_on_commit(credit_recompute_task, user_id=user_id, role=role)


# --- Events from the marketplace's domain signals (see receivers.py) ------------------------


def _order(order_id: int) -> Order | None:
    return Order.objects.select_related("buyer").filter(pk=order_id).first()


@transaction.atomic
def credit_order_completed(*, order_id: int) -> list[CreditEvent]:
    order = _order(order_id)
    if order is None:
        return []
    seller = seller_subject(order)
    at = order.completed_at or timezone.now()
    events = [
        credit_event_record(
            subject_id=order.buyer_id,
            role=CreditRole.BUYER,
            kind=K.ORDER_COMPLETED,
            positive=1.0,
            value_minor=order.amount,
            currency=order.currency,
            counterparty_id=seller[0] if seller else None,
            source=order,
            occurred_at=at,
            dedupe_key=f"order_completed:{order.pk}:buyer",
        )
    ]
    if seller is not None:
        events.append(
            credit_event_record(
                subject_id=seller[0],
                role=seller[1],
                kind=K.ORDER_COMPLETED,
                positive=1.0,
                value_minor=order.amount,
                currency=order.currency,
                counterparty_id=order.buyer_id,
                source=order,
                occurred_at=at,
                dedupe_key=f"order_completed:{order.pk}:seller",
            )
        )
    return events


@transaction.atomic
def credit_order_cancelled(*, order_id: int, at_fault_party: str) -> CreditEvent | None:
    order = _order(order_id)
    if order is None or at_fault_party not in ("buyer", "seller"):
        return None
    # A seller who did not ship in time is recorded by the late-shipment event instead.
    late = order.cancelled_by == "platform" and order.shipped_at is None and order.delivery_method == "ship"
    if at_fault_party == "seller" and late:
        return None
    if at_fault_party == "buyer":
        subject: tuple[int, str] | None = (order.buyer_id, CreditRole.BUYER)
        counterparty = seller_subject(order)
        counterparty_id = counterparty[0] if counterparty else None
    else:
        subject, counterparty_id = seller_subject(order), order.buyer_id
    if subject is None:
        return None
    return credit_event_record(
        subject_id=subject[0],
        role=subject[1],
        kind=K.CANCELLATION_AT_FAULT,
        negative=1.0,
        value_minor=order.amount,
        currency=order.currency,
        counterparty_id=counterparty_id,
        source=order,
        occurred_at=order.cancelled_at or timezone.now(),
        dedupe_key=f"cancelled:{order.pk}",
    )


@transaction.atomic
def credit_shipment_late(*, order_id: int) -> CreditEvent | None:
    order = _order(order_id)
    subject = seller_subject(order) if order is not None else None
    if order is None or subject is None:
        return None
    return credit_event_record(
        subject_id=subject[0],
        role=subject[1],
        kind=K.LATE_SHIPMENT,
        negative=1.0,
        counterparty_id=order.buyer_id,
        source=order,
        occurred_at=order.cancelled_at or timezone.now(),
        dedupe_key=f"late:{order.pk}",
    )


def _certified_appraisal_of(order: Order) -> tuple[int, int] | None:
    """(appraisal id, appraiser id) of the certified grade the buyer relied on. The order
    records the grade (settings.MARKETPLACE_ORDER_SNAPSHOT_PROVIDERS); the appraiser is
    looked up by the app registry so the marketplace never imports the grading app."""
    from django.apps import apps

    grade = (order.snapshot or {}).get("grade") or {}
    if grade.get("kind") != "certified" or not grade.get("appraisal_id") or not apps.is_installed("grading"):
        return None
    appraisal_model = apps.get_model("grading", "Appraisal")
    found = appraisal_model.objects.filter(pk=grade["appraisal_id"]).values_list("appraiser_id", flat=True).first()
    return (int(grade["appraisal_id"]), int(found)) if found is not None else None


def stood_dedupe_key(kind: str, work_id: Any, party: str) -> str:
    """The one "work stood" event of a certificate or appraisal for one party."""
    return f"{kind}:{work_id}:{party}"


def _withdraw_stood(dedupe_key: str, *, reason: str, at: dt.datetime) -> CreditEvent | None:
    """Work that was credited as having stood turned out bad after all (a certificate
    revoked, an appraisal overturned later than the settle days): the positive event is
    reversed, so the record is as if it had never counted."""
    event = CreditEvent.objects.filter(dedupe_key=dedupe_key).first()
    if event is None or CreditEvent.objects.filter(reverses=event).exists():
        return None
    return credit_event_record(
        subject_id=event.subject_id,
        role=event.role,
        kind=event.kind,
        reverses=event,
        reason=reason,
        occurred_at=at,
        dedupe_key=f"withdrawn:{dedupe_key}",
    )


@transaction.atomic
def credit_dispute_resolved(*, order_id: int, upheld: bool) -> list[CreditEvent]:
    order = _order(order_id)
    if order is None:
        return []
    dispute = order.disputes.exclude(status="open").order_by("-resolved_at", "-pk").first()
    if dispute is None:
        return []
    events: list[CreditEvent] = []
    seller = seller_subject(order)
    at = dispute.resolved_at or timezone.now()
    if upheld:
        if seller is not None:
            events.append(
                credit_event_record(
                    subject_id=seller[0],
                    role=seller[1],
                    kind=K.DISPUTE_UPHELD,
                    negative=1.0,
                    value_minor=order.amount,
                    currency=order.currency,
                    counterparty_id=order.buyer_id,
                    source=dispute,
                    occurred_at=at,
                    dedupe_key=f"dispute:{dispute.pk}",
                )
            )
        if dispute.kind == "not_as_graded":
            appraisal = _certified_appraisal_of(order)
            if appraisal is not None:
                appraisal_id, appraiser_id = appraisal
                _withdraw_stood(
                    stood_dedupe_key(K.APPRAISAL_STOOD, appraisal_id, CreditRole.APPRAISER),
                    reason="appraisal overturned",
                    at=at,
                )
                events.append(
                    credit_event_record(
                        subject_id=appraiser_id,
                        role=CreditRole.APPRAISER,
                        kind=K.APPRAISAL_OVERTURNED,
                        negative=1.0,
                        value_minor=order.amount,
                        source=dispute,
                        occurred_at=at,
                        dedupe_key=f"appraisal_overturned:{dispute.pk}",
                    )
                )
    else:
        events.append(
            credit_event_record(
                subject_id=order.buyer_id,
                role=CreditRole.BUYER,
                kind=K.FALSE_CLAIM,
                negative=1.0,
                counterparty_id=seller[0] if seller else None,
                source=dispute,
                occurred_at=at,
                dedupe_key=f"dispute:{dispute.pk}",
            )
        )
    return events


def credit_stall_no_show(*, user_id: int, application_id: int) -> CreditEvent:
    return credit_event_record(
        subject_id=user_id,
        role=CreditRole.SELLER,
        kind=K.STALL_NO_SHOW,
        negative=1.0,
        dedupe_key=f"no_show:{application_id}",
    )


@transaction.atomic
def credit_certificate_revoked(
    *, technician_id: int, certificate_id: str, provider_id: int | None = None
) -> list[CreditEvent]:
    """A certificate revoked for a fault counts against the technician who erased the
    device (role technician) and the provider that issued it (role erasure_provider, on
    its first owner); a "still valid" event it earned earlier is withdrawn."""
    at = timezone.now()
    parties: list[tuple[str, int, str]] = [("technician", technician_id, CreditRole.TECHNICIAN)]
    provider_subject = organisation_subjects([provider_id]).get(provider_id) if provider_id is not None else None
    if provider_subject is not None:
        parties.append(("provider", provider_subject, CreditRole.ERASURE_PROVIDER))
    events = []
    for party, subject_id, role in parties:
        _withdraw_stood(
            stood_dedupe_key(K.CERTIFICATE_STOOD, certificate_id, party), reason="certificate revoked", at=at
        )
        events.append(
            credit_event_record(
                subject_id=subject_id,
                role=role,
                kind=K.CERTIFICATE_REVOKED,
                negative=1.0,
                occurred_at=at,
                # The technician's key is the one used before providers were scored too.
                dedupe_key=f"certificate_revoked:{certificate_id}"
                if party == "technician"
                else f"certificate_revoked:{certificate_id}:{party}",
            )
        )
    return events


def credit_verification_changed(*, user_id: int, level: str) -> list[CreditEvent]:
    """A verification level reached (e-mail confirmed, organisation verified): positive
    evidence for the user as buyer and as seller, once per level."""
    return [
        credit_event_record(
            subject_id=user_id,
            role=role,
            kind=K.VERIFICATION,
            positive=1.0,
            reason=level,
            dedupe_key=f"verification:{user_id}:{role}:{level}",
        )
        for role in (CreditRole.BUYER, CreditRole.SELLER)
    ]


# --- Ratings -----------------------------------------------------------------------------


def rating_evidence(stars: int, subs: Sequence[int]) -> tuple[float, float]:
    """Stars count twice as much as the mean of the sub-ratings; 5 is all positive, 1 all negative."""
    mean_subs = sum(subs) / len(subs) if subs else stars
    value = (2 * stars + mean_subs) / 3
    return (value - 1) / 4, (5 - value) / 4


def _current_score(user_id: int, role: str) -> int:
    found = CreditScore.objects.filter(user_id=user_id, role=role).values_list("score", flat=True).first()
    return int(found) if found is not None else prior_score()


def _stars_field(value: Any, name: str, problems: dict[str, list[str]], *, required: bool = True) -> int | None:
    if value in (None, "") and not required:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if not 1 <= number <= 5:
        problems[name] = [_("Choose 1 to 5 stars.")]
        return None
    return number


@transaction.atomic
def rating_submit(
    *,
    user: User,
    order_id: int,
    stars: Any,
    communication: Any,
    speed: Any,
    as_described: Any = None,
    comment: str = "",
) -> Rating:
    """Rate the other party of a completed order, once, within the rating window. A rating
    may be raised later but never lowered. Sealed until both rated or the window closed.
    An optional short comment is shown on the rated party's public profile once the rating
    is visible; it is screened like messages and refused when it carries contact or
    payment details."""
    from marketplace.services.orders import order_party

    order = Order.objects.select_for_update(of=("self",)).select_related("buyer").filter(pk=order_id).first()
    if order is None or not user.is_authenticated:
        raise NotFound(_("No such order."))
    party = order_party(user, order)
    if party not in ("buyer", "seller"):
        raise NotFound(_("No such order."))
    now = timezone.now()
    if order.completed_at is None:
        raise Conflict(_("You can rate once the order is completed."), code="rating_not_completed")
    closes = order.completed_at + rating_window()
    if now > closes:
        raise Conflict(
            _("The rating window closed on %(date)s.") % {"date": timezone.localtime(closes).strftime("%Y-%m-%d")},
            code="rating_window_closed",
        )
    problems: dict[str, list[str]] = {}
    values = {
        "stars": _stars_field(stars, "stars", problems),
        "as_described": _stars_field(as_described, "as_described", problems, required=party == "buyer"),
        "communication": _stars_field(communication, "communication", problems),
        "speed": _stars_field(speed, "speed", problems),
    }
    if party == "seller":
        values["as_described"] = None
    if problems:
        raise ValidationFailed(_("Choose 1 to 5 stars for each question."), details={"fields": problems})
    comment = rating_comment_clean(comment)
    existing = Rating.objects.select_for_update().filter(order=order, rater_role=party).first()
    if existing is not None:
        return _rating_raise(existing, values, user, comment=comment)
    if party == "buyer":
        subject = seller_subject(order)
        if subject is None:
            raise Conflict(_("This seller cannot be rated."), code="rating_no_subject")
        ratee_id, ratee_role = subject
    else:
        ratee_id, ratee_role = order.buyer_id, CreditRole.BUYER
    rating = Rating.objects.create(
        order=order, rater=user, ratee_id=ratee_id, rater_role=party, ratee_role=ratee_role, comment=comment, **values
    )
    other = Rating.objects.select_for_update().filter(order=order).exclude(pk=rating.pk).first()
    if other is not None:
        _reveal([other, rating], now)
    else:
        ratee = User.objects.get(pk=ratee_id)
        notify(
            users=[ratee],
            kind="rating_received",
            subject=gettext_lazy("You were rated for order #%(number)s"),
            body=gettext_lazy(
                "The other party rated order #%(number)s “%(title)s”. Rate them too to see their rating; "
                "otherwise it becomes visible when the rating window closes."
            ),
            params={"number": order.pk, "title": order.title},
            link=f"/orders/{order.pk}/rate/",
        )
    return rating


def rating_comment_clean(comment: str | None) -> str:
    """The comment as stored, or ValidationFailed (nothing is saved): at most
    COMMENT_MAX_LENGTH characters and, since anyone can read it, no phone numbers, WeChat,
    Alipay or QQ IDs or bank cards (the screening of messages)."""
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX_LENGTH:
        message = _("A comment has at most %(count)d characters.") % {"count": COMMENT_MAX_LENGTH}
        raise ValidationFailed(message, code="rating_comment_too_long", details={"fields": {"comment": [message]}})
    if screen(comment).flagged:
        message = _(
            "Remove the phone number, account ID or card number from your comment: comments are public, "
            "so contact and payment details are not allowed."
        )
        raise ValidationFailed(message, code="rating_comment_blocked", details={"fields": {"comment": [message]}})
    return comment


def _rating_raise(rating: Rating, values: dict[str, int | None], user: User, *, comment: str = "") -> Rating:
    lowered = [
        name
        for name, value in values.items()
        if value is not None and getattr(rating, name) is not None and value < getattr(rating, name)
    ]
    if lowered:
        raise ValidationFailed(
            _("A rating can be raised later but never lowered."),
            code="rating_lowered",
            details={
                "fields": {name: [_("You gave %(n)s before.") % {"n": getattr(rating, name)}] for name in lowered}
            },
        )
    changed = {name: value for name, value in values.items() if value is not None and value != getattr(rating, name)}
    if comment and comment != rating.comment:
        if rating.revealed_at is not None:
            message = _("Your comment can no longer be changed: both ratings are visible.")
            raise ValidationFailed(message, code="rating_comment_revealed", details={"fields": {"comment": [message]}})
        rating.comment = comment
        if not changed:
            rating.save(update_fields=["comment", "updated_at"])
            return rating
    if not changed:
        return rating
    for name, value in changed.items():
        setattr(rating, name, value)
    if rating.revealed_at is not None and rating.event is not None:
        credit_event_record(
            subject_id=rating.event.subject_id,
            role=rating.event.role,
            kind=K.RATING,
            reverses=rating.event,
            actor=user,
            reason="rating raised",
            occurred_at=rating.event.occurred_at,
        )
        rating.event = _rating_event(rating)
    rating.save()
    return rating


def _rating_event(rating: Rating) -> CreditEvent:
    positive, negative = rating_evidence(rating.stars, rating.sub_ratings)
    return credit_event_record(
        subject_id=rating.ratee_id,
        role=rating.ratee_role,
        kind=K.RATING,
        positive=positive,
        negative=negative,
        value_minor=rating.order.amount,
        currency=rating.order.currency,
        counterparty_id=rating.rater_id,
        rater_score=_current_score(rating.rater_id, rating.rater_role),
        source=rating,
        occurred_at=rating.created_at,
    )


def _reveal(ratings: Iterable[Rating], now: dt.datetime) -> None:
    pairs: set[int] = set()
    for rating in ratings:
        if rating.revealed_at is not None:
            continue
        rating.revealed_at = now
        rating.event = _rating_event(rating)
        rating.save(update_fields=["revealed_at", "event"])
        pairs |= {rating.rater_id, rating.ratee_id}
    if pairs:
        rings_detect_around(user_ids=sorted(pairs))


def ratings_reveal_due(*, now: dt.datetime | None = None) -> int:
    """Ratings whose window closed without the other party rating become visible."""
    now = now or timezone.now()
    due = Rating.objects.filter(revealed_at__isnull=True, order__completed_at__lte=now - rating_window())
    count = 0
    for rating_id in list(due.values_list("pk", flat=True)):
        with transaction.atomic():
            rating = Rating.objects.select_for_update().select_related("order").get(pk=rating_id)
            if rating.revealed_at is None:
                _reveal([rating], now)
                count += 1
    return count


# --- Rating rings ---------------------------------------------------------------------------


def _edges(query: Q) -> list[scoring.RatingEdge]:
    rows = Rating.objects.filter(query).values_list("rater_id", "ratee_id", "created_at")
    return [scoring.RatingEdge(str(rater), str(ratee), at) for rater, ratee, at in rows]


@transaction.atomic
def rings_detect_around(*, user_ids: Sequence[int]) -> list[RatingRing]:
    """Look for a ring around these users: grow the group along mutual rating pairs (a
    ring has at most 8 members, so a few steps suffice), then run the detector on the
    ratings touching it."""
    group = {str(u) for u in user_ids}
    edges: list[scoring.RatingEdge] = []
    for _step in range(3):
        edges = _edges(Q(rater_id__in=group) | Q(ratee_id__in=group))
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for edge in edges:
            counts[(edge.rater, edge.ratee)] += 1
        grown = set(group)
        for (a, b), n in counts.items():
            if n >= 2 and counts.get((b, a), 0) >= 2 and (a in group or b in group):
                grown |= {a, b}
        if grown == group or len(grown) > 9:
            break
        group = grown
    wanted = {str(u) for u in user_ids}
    found = [ring for ring in scoring.detect_rings(edges) if ring & wanted]
    return [_ring_flag(ring) for ring in found]


def _ring_flag(members: frozenset[str]) -> RatingRing:
    ids = sorted(int(m) for m in members)
    key = ",".join(str(i) for i in ids)
    ring, created = RatingRing.objects.get_or_create(key=key, defaults={"members": ids})
    if created:
        notify(
            users=moderators(),
            kind="credit_ring",
            subject=gettext_lazy("Possible rating ring of %(n)s accounts"),
            body=gettext_lazy(
                "Accounts %(members)s rate each other far more than anyone else. Their ratings of each other "
                "no longer count; confirm or dismiss the flag in the credit admin."
            ),
            params={"n": len(ids), "members": key},
            link="/cms-admin/credit/rings/",
        )
        for user_id in ids:
            for role in CreditEvent.objects.filter(subject_id=user_id).values_list("role", flat=True).distinct():
                _recompute_after_commit(user_id, role)
    return ring


def rings_detect_all() -> list[RatingRing]:
    return [_ring_flag(ring) for ring in scoring.detect_rings(_edges(Q()))]


@transaction.atomic
def ring_review(*, moderator: User, ring_id: int, confirm: bool, note: str = "") -> RatingRing:
    _require_staff(moderator)
    ring = RatingRing.objects.select_for_update().filter(pk=ring_id).first()
    if ring is None:
        raise NotFound(_("No such ring."))
    ring.status = RingStatus.CONFIRMED if confirm else RingStatus.DISMISSED
    ring.reviewed_by, ring.reviewed_at, ring.note = moderator, timezone.now(), note.strip()
    ring.save()
    for user_id in ring.members:
        for role in CreditEvent.objects.filter(subject_id=user_id).values_list("role", flat=True).distinct():
            _recompute_after_commit(int(user_id), role)
    return ring


def discounted_counterparties(rings: Iterable[tuple[int, ...]], user_id: int) -> frozenset[str]:
    found: set[str] = set()
    for members in rings:
        if user_id in members:
            found |= {str(m) for m in members if m != user_id}
    return frozenset(found)


def active_rings() -> list[tuple[int, ...]]:
    return [
        tuple(int(m) for m in members)
        for members in RatingRing.objects.exclude(status=RingStatus.DISMISSED).values_list("members", flat=True)
    ]


# --- Recomputation ------------------------------------------------------------------------------

# (pk, subject_id, role, kind, occurred_at, positive, negative, value_minor, counterparty_id,
#  rater_score, weight, reverses_id)
EVENT_COLUMNS = (
    "pk",
    "subject_id",
    "role",
    "kind",
    "occurred_at",
    "positive",
    "negative",
    "value_minor",
    "counterparty_id",
    "rater_score",
    "weight",
    "reverses_id",
)
EventRow = tuple[Any, ...]


def evidence_of(rows: Iterable[EventRow]) -> list[scoring.Evidence]:
    """Rows of one subject in one role → the scorer's evidence. A reversed event and the
    event reversing it both drop out."""
    rows = list(rows)
    reversed_ids = {row[11] for row in rows if row[11] is not None}
    return [
        scoring.Evidence(
            event_id=str(row[0]),
            kind=row[3],
            at=row[4],
            positive=row[5],
            negative=row[6],
            value_minor=row[7],
            counterparty=str(row[8]) if row[8] is not None else None,
            rater_score=row[9],
            weight=row[10],
        )
        for row in rows
        if row[11] is None and row[0] not in reversed_ids
    ]


def score_subjects(
    rows: Iterable[EventRow],
    *,
    now: dt.datetime,
    rings: Sequence[tuple[int, ...]],
    min_orders: MinOrders | None = None,
) -> dict[tuple[int, str], tuple[scoring.Score, int]]:
    """Pure: every (subject, role) in `rows` → (score, number of events counted).
    `min_orders` (from `tier_min_orders`) holds subjects with too few completed orders
    below the tiers that need more."""
    min_orders = min_orders or {}
    groups: dict[tuple[int, str], list[EventRow]] = defaultdict(list)
    for row in rows:
        groups[(row[1], row[2])].append(row)
    in_rings = {m for members in rings for m in members}
    results = {}
    for (user_id, role), group in groups.items():
        evidence = evidence_of(group)
        discounted = discounted_counterparties(rings, user_id) if user_id in in_rings else frozenset()
        results[(user_id, role)] = (
            scoring.score(evidence, now=now, discounted=discounted, min_orders=min_orders.get(role)),
            len(evidence),
        )
    return results


def _announce_tier_change(user_id: int, role: str) -> None:
    """Search shows sellers' and shops' tiers: re-index their listings on sale. Pages show
    them on every listing (sold ones too): `credit_tier_changed` tells the page cache."""
    transaction.on_commit(functools.partial(credit_tier_changed.send, sender=CreditScore, user_id=user_id, role=role))
    if role == CreditRole.SELLER:
        selling = Q(seller_user_id=user_id)
    elif role == CreditRole.SHOP:
        owned = Membership.objects.filter(user_id=user_id, role=Role.OWNER).values_list("organisation_id", flat=True)
        shops = [org for org, subject in organisation_subjects(owned).items() if subject == user_id]
        if not shops:
            return
        selling = Q(seller_organisation_id__in=shops)
    else:
        return
    listing_ids = list(Listing.objects.filter(selling, status=ListingStatus.PUBLISHED).values_list("pk", flat=True))
    if listing_ids:
        # One batch, not a task per listing: a shop-sized seller has thousands.
        transaction.on_commit(functools.partial(listings_changed.send, sender=Listing, listing_ids=listing_ids))


def _store(
    user_id: int,
    role: str,
    result: scoring.Score,
    events: int,
    now: dt.datetime,
    cause: str,
    existing: Any,
    prior_tier: str,
) -> CreditScore:
    fields = {
        "score": result.value,
        "tier": result.tier.key,
        "alpha": result.alpha,
        "beta": result.beta,
        "events": events,
        "computed_at": now,
    }
    if existing is None:
        stored = CreditScore.objects.create(user_id=user_id, role=role, **fields)
        changed, tier_changed = True, result.tier.key != prior_tier
    else:
        changed = existing.score != result.value or existing.tier != result.tier.key
        tier_changed = existing.tier != result.tier.key
        for name, value in fields.items():
            setattr(existing, name, value)
        existing.save()
        stored = existing
    if changed:
        CreditScoreHistory.objects.create(
            user_id=user_id, role=role, score=result.value, tier=result.tier.key, computed_at=now, cause=cause
        )
    if tier_changed:
        _announce_tier_change(user_id, role)
    return stored


@transaction.atomic
def credit_recompute(*, user_id: int, role: str, now: dt.datetime | None = None, cause: str = "event") -> CreditScore:
    """Recompute one subject's score in one role from all their events."""
    now = now or timezone.now()
    # The subject's row serialises recomputes of the same person: the score row may not
    # exist yet (nothing to lock), and two first recomputes must not both create it.
    User.objects.select_for_update().filter(pk=user_id).values_list("pk", flat=True).first()
    existing = CreditScore.objects.select_for_update().filter(user_id=user_id, role=role).first()
    rows = list(CreditEvent.objects.filter(subject_id=user_id, role=role).order_by().values_list(*EVENT_COLUMNS))
    min_orders = tier_min_orders()
    result, events = score_subjects(rows, now=now, rings=active_rings(), min_orders=min_orders).get(
        (user_id, role), (scoring.score([], now=now, min_orders=min_orders.get(role)), 0)
    )
    return _store(user_id, role, result, events, now, cause, existing, prior_tier_key(role, min_orders, now))


@dataclass
class RecomputeReport:
    subjects: int = 0
    changed: int = 0
    rings: int = 0
    read_seconds: float = 0.0
    score_seconds: float = 0.0
    write_seconds: float = 0.0
    scores: dict[tuple[int, str], int] = field(default_factory=dict)


def load_event_rows() -> list[EventRow]:
    return list(CreditEvent.objects.order_by().values_list(*EVENT_COLUMNS).iterator(chunk_size=20_000))


def credit_recompute_all(*, now: dt.datetime | None = None, detect: bool = True) -> RecomputeReport:
    """The nightly full recompute: detect rings over all ratings, then score every subject
    in every role exactly as the incremental recompute does, and store what changed."""
    import time

    now = now or timezone.now()
    report = RecomputeReport()
    if detect:
        with transaction.atomic():
            report.rings = len(rings_detect_all())
    started = time.perf_counter()
    rows = load_event_rows()
    report.read_seconds = time.perf_counter() - started
    started = time.perf_counter()
    min_orders = tier_min_orders()
    results = score_subjects(rows, now=now, rings=active_rings(), min_orders=min_orders)
    report.score_seconds = time.perf_counter() - started
    started = time.perf_counter()
    existing = {(s.user_id, s.role): s for s in CreditScore.objects.all()}
    new_scores, changed_scores, history = [], [], []
    tier_changes: list[tuple[int, str]] = []
    prior_tiers = {role: prior_tier_key(role, min_orders, now) for role in CreditRole.values}
    for (user_id, role), (result, events) in results.items():
        report.scores[(user_id, role)] = result.value
        current = existing.get((user_id, role))
        if current is None:
            new_scores.append(
                CreditScore(
                    user_id=user_id,
                    role=role,
                    score=result.value,
                    tier=result.tier.key,
                    alpha=result.alpha,
                    beta=result.beta,
                    events=events,
                    computed_at=now,
                )
            )
            if result.tier.key != prior_tiers.get(role):
                tier_changes.append((user_id, role))
        else:
            if current.score == result.value and current.tier == result.tier.key and current.events == events:
                continue
            if current.tier != result.tier.key:
                tier_changes.append((user_id, role))
            current.score, current.tier, current.alpha, current.beta = (
                result.value,
                result.tier.key,
                result.alpha,
                result.beta,
            )
            current.events, current.computed_at = events, now
            changed_scores.append(current)
        history.append(
            CreditScoreHistory(
                user_id=user_id, role=role, score=result.value, tier=result.tier.key, computed_at=now, cause="nightly"
            )
        )
    with transaction.atomic():
        CreditScore.objects.bulk_create(new_scores, batch_size=5000)
        CreditScore.objects.bulk_update(
            changed_scores, ["score", "tier", "alpha", "beta", "events", "computed_at"], batch_size=5000
        )
        CreditScoreHistory.objects.bulk_create(history, batch_size=5000)
        for user_id, role in tier_changes:
            _announce_tier_change(user_id, role)
    report.write_seconds = time.perf_counter() - started
    report.subjects = len(results)
    report.changed = len(new_scores) + len(changed_scores)
    return report


# --- Moderators: adjustments, reversals, appeals ---------------------------------------------


def _require_staff(user: User) -> None:
    if not (user.is_authenticated and user.is_staff):
        raise PermissionDenied(_("Only moderators manage credit records."))


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            _("Give a reason; the person concerned sees it."), details={"fields": {"reason": [_("Required.")]}}
        )
    return reason


def _tell_subject(user_id: int, reason: str) -> None:
    notify(
        users=[User.objects.get(pk=user_id)],
        kind="credit_adjusted",
        subject=gettext_lazy("Your credit record was changed by a moderator"),
        body=gettext_lazy("A moderator changed your credit record: %(reason)s. See your credit page for details."),
        params={"reason": reason},
        link="/my/credit/",
    )


@transaction.atomic
def credit_adjust(
    *, moderator: User, user_id: int, role: str, direction: str, size: float, reason: str, sanction: bool = False
) -> CreditEvent:
    """An audited adjustment (or sanction) with a mandatory reason; reversible."""
    _require_staff(moderator)
    reason = _require_reason(reason)
    problems: dict[str, list[str]] = {}
    if direction not in ("up", "down") or (sanction and direction == "up"):
        problems["direction"] = [_("Choose raise or lower (a sanction always lowers).")]
    if not 0 < size <= 20:
        problems["size"] = [_("Between 0 and 20 (one completed order counts about 1).")]
    if role not in CreditRole.values:
        problems["role"] = [_("Unknown role.")]
    if problems:
        raise ValidationFailed(_("The adjustment is not valid."), details={"fields": problems})
    if not User.objects.filter(pk=user_id).exists():
        raise NotFound(_("No such user."))
    event = credit_event_record(
        subject_id=user_id,
        role=role,
        kind=K.MODERATOR_SANCTION if sanction else K.ADJUSTMENT,
        positive=1.0 if direction == "up" else 0.0,
        negative=1.0 if direction == "down" else 0.0,
        weight=float(size),
        actor=moderator,
        reason=reason,
    )
    _tell_subject(user_id, reason)
    return event


@transaction.atomic
def credit_event_reverse(*, moderator: User, event_id: int, reason: str, notify_subject: bool = True) -> CreditEvent:
    """Undo an event by appending one that reverses it (nothing is deleted)."""
    _require_staff(moderator)
    reason = _require_reason(reason)
    event = CreditEvent.objects.select_for_update().filter(pk=event_id).first()
    if event is None:
        raise NotFound(_("No such credit event."))
    if event.reverses_id is not None:
        raise Conflict(_("A reversal cannot be reversed; record a new adjustment instead."), code="credit_reversal")
    if CreditEvent.objects.filter(reverses=event).exists():
        raise Conflict(_("This event was already reversed."), code="credit_already_reversed")
    reversal = credit_event_record(
        subject_id=event.subject_id,
        role=event.role,
        kind=event.kind,
        reverses=event,
        actor=moderator,
        reason=reason,
        occurred_at=timezone.now(),
    )
    if notify_subject:
        _tell_subject(event.subject_id, reason)
    return reversal


@transaction.atomic
def credit_appeal_submit(*, user: User, role: str, text: str, event_id: int | None = None) -> CreditAppeal:
    if not user.is_authenticated:
        raise PermissionDenied(_("Log in to appeal."))
    text = (text or "").strip()
    if not text:
        raise ValidationFailed(
            _("Explain what is wrong with your record."), details={"fields": {"text": [_("Required.")]}}
        )
    if role not in CreditRole.values:
        raise ValidationFailed(_("Unknown role."), details={"fields": {"role": [_("Unknown role.")]}})
    event = None
    if event_id is not None:
        event = CreditEvent.objects.filter(pk=event_id, subject=user).first()
        if event is None:
            raise NotFound(_("No such credit event."))
        role = event.role
        if CreditAppeal.objects.filter(user=user, event=event, status=AppealStatus.OPEN).exists():
            raise Conflict(_("You already appealed this record; a moderator will decide."), code="appeal_open")
    appeal = CreditAppeal.objects.create(user=user, role=role, event=event, text=text[:3000])
    notify(
        users=moderators(),
        kind="credit_appeal",
        subject=gettext_lazy("New credit appeal"),
        body=gettext_lazy("%(user)s appealed their credit record: %(text)s"),
        params={"user": user.public_name, "text": text[:300]},
        link="/cms-admin/credit/appeals/",
    )
    return appeal


@transaction.atomic
def credit_appeal_decide(*, moderator: User, appeal_id: int, uphold: bool, note: str) -> CreditAppeal:
    """Decide an appeal. Upheld, the appealed event is reversed. The user is told either way."""
    _require_staff(moderator)
    note = _require_reason(note)
    appeal = CreditAppeal.objects.select_for_update().select_related("user").filter(pk=appeal_id).first()
    if appeal is None:
        raise NotFound(_("No such appeal."))
    if appeal.status != AppealStatus.OPEN:
        raise Conflict(_("This appeal was already decided."), code="appeal_decided")
    appeal.status = AppealStatus.UPHELD if uphold else AppealStatus.REJECTED
    appeal.decided_by, appeal.decided_at, appeal.decision_note = moderator, timezone.now(), note
    appeal.save()
    if uphold and appeal.event_id is not None and not CreditEvent.objects.filter(reverses_id=appeal.event_id).exists():
        credit_event_reverse(
            moderator=moderator, event_id=appeal.event_id, reason=f"appeal upheld: {note}", notify_subject=False
        )
    notify(
        users=[appeal.user],
        kind="credit_appeal_decided",
        subject=gettext_lazy("Your credit appeal was decided"),
        body=(
            gettext_lazy("Your appeal was upheld and your record corrected: %(note)s")
            if uphold
            else gettext_lazy("Your appeal was rejected: %(note)s")
        ),
        params={"note": note},
        link="/my/credit/",
    )
    return appeal


# --- Sharing: consent and partner tokens ---------------------------------------------------------


@transaction.atomic
def credit_consent_grant(*, user: User) -> CreditConsent:
    consent, _created = CreditConsent.objects.select_for_update().get_or_create(
        user=user, defaults={"granted_at": timezone.now()}
    )
    if consent.withdrawn_at is not None:
        consent.granted_at, consent.withdrawn_at = timezone.now(), None
        consent.save()
    return consent


@transaction.atomic
def credit_consent_withdraw(*, user: User) -> CreditConsent | None:
    consent = CreditConsent.objects.select_for_update().filter(user=user).first()
    if consent is not None and consent.withdrawn_at is None:
        consent.withdrawn_at = timezone.now()
        consent.save()
    return consent


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def partner_token_create(*, staff: User, name: str) -> tuple[PartnerToken, str]:
    """A new partner token; the raw token is returned once and only its hash kept."""
    _require_staff(staff)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Name the partner."), details={"fields": {"name": [_("Required.")]}})
    prefix = secrets.token_hex(4)
    raw = f"xhp_{prefix}_{secrets.token_urlsafe(32)}"
    token = PartnerToken.objects.create(name=name[:120], prefix=prefix, token_hash=token_hash(raw), created_by=staff)
    return token, raw


@transaction.atomic
def partner_token_revoke(*, staff: User, token_id: int) -> PartnerToken:
    _require_staff(staff)
    token = PartnerToken.objects.select_for_update().filter(pk=token_id).first()
    if token is None:
        raise NotFound(_("No such token."))
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def partner_token_authenticate(raw: str) -> PartnerToken | None:
    if not raw:
        return None
    token = PartnerToken.objects.filter(token_hash=token_hash(raw), revoked_at__isnull=True).first()
    if token is not None:
        PartnerToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token
