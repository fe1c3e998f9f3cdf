"""Flea-market stalls: applications, decisions with capacity, fees, cancellations with
waiting-list promotion, no-shows, and listings marked "available at this event".

Capacity: every decision that gives out a stall locks the (date, stall type) row of
StallCapacity first and counts the approved applications under that lock, so parallel
approvals cannot overbook. Locks are always taken capacity row first, application second.

Fees are paid offline and recorded by the organiser (`stall_fee_record_offline`), or by
card through Stripe when card payments are configured (`stall_fee_card_pay`): a
PaymentIntent captured at once, through the core's generic fee payments
(marketplace.services.fee_payments), which hands a succeeded intent — from the payer's
confirmation or the webhook, perhaps more than once — to `stall_fee_card_paid`
(MARKETPLACE_FEE_PAYMENT_HANDLERS). Both ways end in `stall_fee_mark_paid`. Stripe is never
called while a row is locked. A card fee is refunded when the applicant cancels before the
date's applications close, when the organiser cancels the stall, and when a card payment
succeeds for a stall that no longer needs it (cancelled meanwhile, or paid twice)."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cms.models import (
    ACTIVE_STALL_STATUSES,
    STALL_TRANSITIONS,
    FleaMarketDate,
    FleaMarketPage,
    ListingAtEvent,
    PaymentMethod,
    StallAddOn,
    StallApplication,
    StallApplicationStatus,
    StallCapacity,
    StallFeePayment,
    StallFeePaymentStatus,
    StallType,
)
from cms.recurrence import RecurrenceRule, occurrences
from cms.services.access import organisation_runners, user_runs_organisation
from cms.tasks import organisation_cms_access_task, stall_fee_refund_task
from marketplace.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.models import Listing, Membership, OrganisationKind, Role, User
from marketplace.models.listings import PUBLIC_STATUSES
from marketplace.payments.stripe_gateway import CardDeclined, IntentState, PaymentError, decline_message
from marketplace.services.fee_payments import (
    fee_card_confirm,
    fee_card_payments_enabled,
    fee_card_token_clean,
    fee_intent_apply,
    fee_intent_retrieve,
    fee_intent_start,
    fee_refund,
)
from marketplace.services.listings import listing_can_manage
from marketplace.services.notifications import notify
from marketplace.services.outbox import task_enqueue_on_commit
from marketplace.signals import listing_changed, stall_no_show

S = StallApplicationStatus
FP = StallFeePaymentStatus
FEE_PURPOSE = "stall_fee"  # the key in MARKETPLACE_FEE_PAYMENT_HANDLERS
FEE_CURRENCY = "CNY"
logger = logging.getLogger(__name__)
NOTIFICATION_KIND = "stall_application"
# To the market's organisers: an application waits for their decision.
ORGANISER_NOTIFICATION_KIND = "stall_application_received"
CREDIT_TIER_FUNCTION = "marketplace.credit.selectors.public_tier"


# --- Reading helpers ---------------------------------------------------------------------


def applicant_credit_tier(user: User) -> str:
    """The applicant's public credit tier for the organiser, or "—" while the credit
    system does not provide one."""
    try:
        public_tier = import_string(CREDIT_TIER_FUNCTION)
    except ImportError:
        return "—"
    tier = public_tier(user)
    return str(tier) if tier not in (None, "") else "—"


def approved_count(*, market_date_id: int, stall_type_id: int) -> int:
    return StallApplication.objects.filter(
        market_date_id=market_date_id, stall_type_id=stall_type_id, status=S.APPROVED
    ).count()


def market_missing_dates(
    *, market: FleaMarketPage, existing: Iterable[dt.date], today: dt.date
) -> list[FleaMarketDate]:
    """Unsaved date rows for the dates the repeat rule asks for and the page lacks."""
    if market.recurrence == "none" or market.recurrence_starts is None:
        return []
    rule = RecurrenceRule(
        kind=market.recurrence,
        weekday=market.recurrence_weekday,
        week_of_month=market.recurrence_week_of_month,
        starts=market.recurrence_starts,
        ends=market.recurrence_ends,
    )
    have = set(existing)
    return [FleaMarketDate(date=day, generated=True) for day in occurrences(rule, today=today) if day not in have]


def _market_link(market: FleaMarketPage) -> str:
    return str(market.get_url() or market.url_path)


def _date_label(market_date: FleaMarketDate) -> str:
    return f"{market_date.date:%Y-%m-%d}"


def _require_organiser(user: User, market: FleaMarketPage) -> None:
    if not user_runs_organisation(user=user, organisation_id=market.organisation_id):
        raise PermissionDenied(_("Only the market's organisers can do this."))


def _transition(application: StallApplication, target: str, *, now: dt.datetime) -> None:
    if target not in STALL_TRANSITIONS[application.status]:
        raise Conflict(
            _("This application is “%(status)s” and cannot become “%(target)s”.")
            % {"status": application.get_status_display(), "target": S(target).label},
            details={"status": application.status, "target": target},
        )
    application.status = target
    if target in {S.APPROVED, S.WAITLISTED, S.REJECTED}:
        application.decided_at = now
    if target == S.WAITLISTED:
        application.waitlisted_at = now
    if target in {S.REJECTED, S.CANCELLED, S.NO_SHOW}:
        application.closed_at = now


def _lock_capacity(*, market_date_id: int, stall_type_id: int) -> StallCapacity:
    StallCapacity.objects.get_or_create(market_date_id=market_date_id, stall_type_id=stall_type_id)
    return (
        StallCapacity.objects.select_for_update(of=("self",))
        .select_related("stall_type")
        .get(market_date_id=market_date_id, stall_type_id=stall_type_id)
    )


def _locked_application(application_id: int) -> StallApplication:
    application = (
        StallApplication.objects.select_for_update(of=("self",))
        .select_related("market_date__market", "stall_type", "applicant", "organisation")
        .filter(pk=application_id)
        .first()
    )
    if application is None:
        raise NotFound(_("This stall application does not exist."))
    return application


def _application_target(application_id: int) -> tuple[int, int]:
    row = StallApplication.objects.filter(pk=application_id).values_list("market_date_id", "stall_type_id").first()
    if row is None:
        raise NotFound(_("This stall application does not exist."))
    return row


def _next_stall_number(market_date_id: int) -> int:
    numbers = StallApplication.objects.filter(market_date_id=market_date_id, stall_number__isnull=False)
    last = numbers.order_by("-stall_number").values_list("stall_number", flat=True).first()
    return (last or 0) + 1


def _notify_applicant(application: StallApplication, subject: Any, body: Any) -> None:
    market = application.market_date.market
    notify(
        users=[application.applicant],
        kind=NOTIFICATION_KIND,
        subject=subject,
        body=body,
        params={
            "market": market.title,
            "date": _date_label(application.market_date),
            "stall": application.stall_type.name,
            "fee": f"¥{application.fee // 100}.{application.fee % 100:02d}",
            "reason": application.close_reason or "—",
        },
        link=_market_link(market),
    )


def application_decision_url(application: StallApplication) -> str:
    """Where the market's organisers approve, waitlist or reject the application: the
    date's screen in the Wagtail admin, at the application's row."""
    return reverse("cms_market_date", args=(application.market_date_id,)) + f"#application-{application.pk}"


def _notify_organisers(application: StallApplication, market: FleaMarketPage) -> None:
    organisers = organisation_runners(organisation_id=market.organisation_id)
    if not organisers:
        return
    notify(
        users=organisers,
        kind=ORGANISER_NOTIFICATION_KIND,
        subject=gettext_lazy("New stall application: %(market)s on %(date)s"),
        body=gettext_lazy(
            "%(vendor)s applied for a %(stall)s stall at %(market)s on %(date)s (fee %(fee)s). "
            "Approve it, put it on the waiting list or reject it."
        ),
        params={
            "market": market.title,
            "date": _date_label(application.market_date),
            "stall": application.stall_type.name,
            "vendor": application.vendor_name,
            "fee": f"¥{application.fee // 100}.{application.fee % 100:02d}",
        },
        link=application_decision_url(application),
    )
    # The link opens the Wagtail admin: an organiser who joined after the page was last
    # published is not in the organisation's admin group yet.
    if any(not user.has_perm("wagtailadmin.access_admin") for user in organisers):
        task_enqueue_on_commit(organisation_cms_access_task, organisation_id=market.organisation_id)


# --- Applying ----------------------------------------------------------------------------


@transaction.atomic
def stall_apply(
    *,
    user: User,
    market_date_id: int,
    stall_type_id: int,
    add_on_ids: Sequence[int] = (),
    organisation_id: int | None = None,
    goods: str = "",
    today: dt.date | None = None,
) -> StallApplication:
    today = today or timezone.localdate()
    market_date = FleaMarketDate.objects.select_related("market").filter(pk=market_date_id).first()
    if market_date is None or not market_date.market.live:
        raise NotFound(_("This market date does not exist."))
    market = market_date.market
    if not market.applications_open:
        raise ValidationFailed(_("This market is not taking stall applications."), code="applications_closed")
    if market_date.cancelled:
        raise ValidationFailed(_("This market date is cancelled."), code="date_cancelled")
    if market_date.date < today + dt.timedelta(days=market.application_deadline_days):
        raise ValidationFailed(_("Applications for this date are closed."), code="applications_closed")
    stall_type = StallType.objects.filter(pk=stall_type_id, market=market).first()
    if stall_type is None:
        raise ValidationFailed(
            _("Choose one of this market's stall types."), details={"fields": {"stall_type": [_("Not offered.")]}}
        )
    add_ons = list(StallAddOn.objects.filter(pk__in=add_on_ids, market=market))
    if len(add_ons) != len(set(add_on_ids)):
        raise ValidationFailed(
            _("Choose add-ons of this market."), details={"fields": {"add_ons": [_("Not offered.")]}}
        )
    if (
        organisation_id is not None
        and not Membership.objects.filter(
            user=user,
            organisation_id=organisation_id,
            organisation__kind=OrganisationKind.CONSIGNMENT_SHOP,
            role__in=(Role.OWNER, Role.STAFF),
        ).exists()
    ):
        raise PermissionDenied(_("You can only apply for a shop you own or work for."))
    if StallApplication.objects.filter(
        market_date=market_date, applicant=user, status__in=sorted(ACTIVE_STALL_STATUSES)
    ).exists():
        raise Conflict(_("You have already applied for this date."), code="already_applied")

    application = StallApplication.objects.create(
        market_date=market_date,
        stall_type=stall_type,
        applicant=user,
        organisation_id=organisation_id,
        goods=goods.strip()[:300],
        fee=stall_type.price + sum(add_on.price for add_on in add_ons),
    )
    application.add_ons.set(add_ons)
    _notify_organisers(application, market)
    return application


# --- Organiser decisions -----------------------------------------------------------------


@transaction.atomic
def stall_application_approve(*, organiser: User, application_id: int) -> StallApplication:
    market_date_id, stall_type_id = _application_target(application_id)
    capacity = _lock_capacity(market_date_id=market_date_id, stall_type_id=stall_type_id)
    application = _locked_application(application_id)
    _require_organiser(organiser, application.market_date.market)
    if application.market_date.cancelled:
        raise Conflict(_("This market date is cancelled."), code="date_cancelled")
    taken = approved_count(market_date_id=market_date_id, stall_type_id=stall_type_id)
    if taken >= capacity.effective_capacity:
        raise Conflict(
            _("All %(capacity)d “%(stall)s” stalls of this date are taken. Put the application on the waiting list.")
            % {"capacity": capacity.effective_capacity, "stall": capacity.stall_type.name},
            code="stalls_full",
        )
    now = timezone.now()
    _transition(application, S.APPROVED, now=now)
    application.decided_by = organiser
    application.stall_number = _next_stall_number(market_date_id)
    application.save()
    _notify_applicant(
        application,
        gettext_lazy("Your stall at %(market)s is approved"),
        gettext_lazy(
            "Your application for a %(stall)s stall at %(market)s on %(date)s is approved. "
            "The fee is %(fee)s: pay it on the market's page (by card, where offered) or as the organiser tells "
            "you."
        ),
    )
    return application


@transaction.atomic
def stall_application_waitlist(*, organiser: User, application_id: int) -> StallApplication:
    application = _locked_application(application_id)
    _require_organiser(organiser, application.market_date.market)
    _transition(application, S.WAITLISTED, now=timezone.now())
    application.decided_by = organiser
    application.save()
    _notify_applicant(
        application,
        gettext_lazy("You are on the waiting list for %(market)s"),
        gettext_lazy(
            "All %(stall)s stalls at %(market)s on %(date)s are taken for now. You are on the waiting list "
            "and will be told when a stall comes free."
        ),
    )
    return application


@transaction.atomic
def stall_application_reject(*, organiser: User, application_id: int, reason: str = "") -> StallApplication:
    application = _locked_application(application_id)
    _require_organiser(organiser, application.market_date.market)
    _transition(application, S.REJECTED, now=timezone.now())
    application.decided_by = organiser
    application.close_reason = reason.strip()[:300]
    application.save()
    _notify_applicant(
        application,
        gettext_lazy("Your stall application for %(market)s"),
        gettext_lazy("Your application for %(market)s on %(date)s was not accepted. Reason: %(reason)s"),
    )
    return application


def _promote_next(*, market_date_id: int, stall_type_id: int, capacity: StallCapacity, now: dt.datetime) -> None:
    """Give a stall that came free to the longest-waiting applicant (capacity row locked)."""
    if approved_count(market_date_id=market_date_id, stall_type_id=stall_type_id) >= capacity.effective_capacity:
        return
    candidate_id = (
        StallApplication.objects.filter(market_date_id=market_date_id, stall_type_id=stall_type_id, status=S.WAITLISTED)
        .order_by("waitlisted_at", "pk")
        .values_list("pk", flat=True)
        .first()
    )
    if candidate_id is None:
        return
    promoted = _locked_application(candidate_id)
    _transition(promoted, S.APPROVED, now=now)
    promoted.stall_number = _next_stall_number(market_date_id)
    promoted.save()
    _notify_applicant(
        promoted,
        gettext_lazy("A stall came free at %(market)s"),
        gettext_lazy(
            "A %(stall)s stall at %(market)s on %(date)s came free and is now yours: your application is "
            "approved. The fee is %(fee)s. If you can no longer come, please cancel so the next person gets it."
        ),
    )


@transaction.atomic
def stall_application_cancel(*, actor: User, application_id: int, reason: str = "") -> StallApplication:
    """Withdrawn by the applicant, or cancelled by an organiser. A freed stall goes to the
    next applicant on the waiting list."""
    market_date_id, stall_type_id = _application_target(application_id)
    capacity = _lock_capacity(market_date_id=market_date_id, stall_type_id=stall_type_id)
    application = _locked_application(application_id)
    market = application.market_date.market
    by_organiser = user_runs_organisation(user=actor, organisation_id=market.organisation_id)
    if application.applicant_id != actor.pk and not by_organiser:
        raise PermissionDenied(_("You can only cancel your own application."))
    was_approved = application.status == S.APPROVED
    now = timezone.now()
    by_applicant = application.applicant_id == actor.pk
    _transition(application, S.CANCELLED, now=now)
    application.close_reason = reason.strip()[:300]
    application.save()
    paid_by_card = application.is_paid and application.payment_method == PaymentMethod.CARD
    if paid_by_card and (not by_applicant or stall_fee_refundable_on_cancel(application)):
        for payment in StallFeePayment.objects.select_for_update().filter(application=application, status=FP.SUCCEEDED):
            _refund_later(payment, reason="application cancelled")
    if by_organiser and not by_applicant:
        _notify_applicant(
            application,
            gettext_lazy("Your stall at %(market)s was cancelled"),
            gettext_lazy("The organiser cancelled your stall at %(market)s on %(date)s. Reason: %(reason)s"),
        )
    if was_approved:
        _promote_next(market_date_id=market_date_id, stall_type_id=stall_type_id, capacity=capacity, now=now)
    return application


# --- Fees --------------------------------------------------------------------------------


@transaction.atomic
def stall_fee_mark_paid(
    *, application_id: int, method: str, reference: str, recorded_by: User | None
) -> StallApplication:
    """The one place a stall fee becomes paid, whatever the way it was paid."""
    if method not in PaymentMethod.values:
        raise ValidationFailed(_("Unknown payment method."))
    application = _locked_application(application_id)
    if application.status != S.APPROVED:
        raise Conflict(_("Only an approved stall can be paid for."), code="not_approved")
    if application.paid_at is not None:
        raise Conflict(_("This stall fee is already recorded as paid."), code="already_paid")
    application.paid_at = timezone.now()
    application.payment_method = method
    application.payment_reference = reference.strip()[:100]
    application.payment_recorded_by = recorded_by
    application.save(update_fields=["paid_at", "payment_method", "payment_reference", "payment_recorded_by"])
    return application


def stall_fee_record_offline(*, organiser: User, application_id: int, reference: str) -> StallApplication:
    """The organiser records a fee paid in cash or by bank transfer, with a reference
    (receipt number, transfer id) so it can be reconciled."""
    if not reference.strip():
        raise ValidationFailed(
            _("Give a reference for the payment (receipt number or transfer id)."),
            details={"fields": {"reference": [_("This field is required.")]}},
        )
    with transaction.atomic():
        application = StallApplication.objects.select_related("market_date__market").filter(pk=application_id).first()
        if application is None:
            raise NotFound(_("This stall application does not exist."))
        _require_organiser(organiser, application.market_date.market)
        return stall_fee_mark_paid(
            application_id=application_id, method=PaymentMethod.OFFLINE, reference=reference, recorded_by=organiser
        )


# --- Card payment of the fee (Stripe) ---------------------------------------------------------


def stall_fee_refundable_on_cancel(application: StallApplication, *, today: dt.date | None = None) -> bool:
    """A fee paid by card comes back when the applicant cancels while the date still
    takes applications (the same deadline as applying)."""
    today = today or timezone.localdate()
    market = application.market_date.market
    return application.market_date.date >= today + dt.timedelta(days=market.application_deadline_days)


def stall_fee_card_available(application: StallApplication) -> bool:
    """Whether the applicant can pay this application's fee by card now."""
    return (
        application.status == S.APPROVED
        and application.paid_at is None
        and application.fee > 0
        and fee_card_payments_enabled()
    )


def _reserve_fee_payment(*, user: User, application_id: int) -> StallFeePayment:
    """The application's open card attempt, or a new one (committed before Stripe is called)."""
    with transaction.atomic():
        application = StallApplication.objects.select_for_update(of=("self",)).filter(pk=application_id).first()
        if application is None or application.applicant_id != user.pk:
            raise NotFound(_("This stall application does not exist."))
        if not fee_card_payments_enabled():
            raise Conflict(
                _("Card payment is not available here; pay the fee to the organiser."), code="card_payments_disabled"
            )
        if application.status != S.APPROVED:
            raise Conflict(_("Only an approved stall can be paid for."), code="not_approved")
        if application.paid_at is not None:
            raise Conflict(_("This stall fee is already recorded as paid."), code="already_paid")
        if application.fee <= 0:
            raise Conflict(_("This stall has no fee to pay."), code="nothing_to_pay")
        payment = StallFeePayment.objects.filter(application=application, status=FP.STARTED).first()
        if payment is None:
            payment = StallFeePayment.objects.create(
                application=application,
                amount=application.fee,
                currency=FEE_CURRENCY,
                idempotency_key=uuid.uuid4().hex,
            )
        return payment


def _fee_intent(payment: StallFeePayment) -> IntentState:
    if payment.intent_id:
        return fee_intent_retrieve(payment.intent_id)
    intent = fee_intent_start(
        purpose=FEE_PURPOSE,
        reference=str(payment.application_id),
        amount=payment.amount,
        currency=payment.currency,
        idempotency_key=payment.idempotency_key,
    )
    with transaction.atomic():
        StallFeePayment.objects.filter(pk=payment.pk, intent_id="").update(intent_id=intent.id)
    payment.intent_id = intent.id
    return intent


def _fee_attempt_failed(payment: StallFeePayment, message: str) -> None:
    """The card was declined: close the attempt, so the next card starts a fresh intent."""
    StallFeePayment.objects.filter(pk=payment.pk, status=FP.STARTED).update(status=FP.FAILED, last_error=message[:300])


def stall_fee_card_pay(*, user: User, application_id: int, token: str) -> tuple[StallApplication, IntentState]:
    """Charge the fee to the card behind a Stripe.js token. A declined card raises
    CardDeclined and changes nothing; paying twice (a double click, a reload) charges once."""
    token = fee_card_token_clean(token)
    payment = _reserve_fee_payment(user=user, application_id=application_id)
    intent = _fee_intent(payment)
    if intent.status in ("requires_payment_method", "requires_confirmation"):
        try:
            intent = fee_card_confirm(
                intent_id=payment.intent_id,
                token=token,
                email=user.email,
                idempotency_key=f"{payment.idempotency_key}-{token}"[:255],
            )
        except PaymentError as exc:
            _fee_attempt_failed(payment, exc.message)
            raise
    if intent.status == "requires_payment_method":
        message = decline_message(intent.error_code or "card_declined")
        _fee_attempt_failed(payment, message)
        raise CardDeclined(message, details={"decline_code": intent.error_code})
    fee_intent_apply(intent=intent)
    return StallApplication.objects.get(pk=application_id), intent


def stall_fee_card_open_intent(*, user: User, application_id: int) -> IntentState | None:
    """The intent of the applicant's open attempt (for 3-D Secure in the browser)."""
    payment = StallFeePayment.objects.filter(
        application_id=application_id, application__applicant=user, status=FP.STARTED
    ).first()
    if payment is None or not payment.intent_id:
        return None
    return fee_intent_retrieve(payment.intent_id)


def stall_fee_card_refresh(*, user: User, application_id: int) -> StallApplication:
    """Ask Stripe about the open attempt (after 3-D Secure) and apply what it says."""
    application = StallApplication.objects.filter(pk=application_id, applicant=user).first()
    if application is None:
        raise NotFound(_("This stall application does not exist."))
    payment = StallFeePayment.objects.filter(application=application, status=FP.STARTED).first()
    if payment is None or not payment.intent_id:
        return application
    intent = fee_intent_retrieve(payment.intent_id)
    if intent.status == "requires_payment_method" and intent.error_code:
        _fee_attempt_failed(payment, decline_message(intent.error_code))
    fee_intent_apply(intent=intent)
    application.refresh_from_db()
    return application


@transaction.atomic
def stall_fee_card_paid(*, reference: str, intent_id: str, amount: int, currency: str) -> None:
    """A stall-fee PaymentIntent succeeded (MARKETPLACE_FEE_PAYMENT_HANDLERS). Idempotent:
    the first call marks the fee paid and tells the applicant; later ones change nothing.
    Money for a stall that does not need it (cancelled, or already paid) goes back."""
    try:
        application = _locked_application(int(reference))
    except (ValueError, NotFound):
        logger.error("Stall fee payment %s names no application (%r)", intent_id, reference)
        return
    payments = StallFeePayment.objects.select_for_update().filter(application=application)
    payment = payments.filter(intent_id=intent_id).first() or payments.filter(status=FP.STARTED, intent_id="").first()
    if payment is None:  # the intent id was never written (a crash right after creating it)
        payment = StallFeePayment(
            application=application, amount=amount, currency=currency, idempotency_key=uuid.uuid4().hex
        )
    if payment.status in (FP.SUCCEEDED, FP.REFUNDING, FP.REFUNDED):
        return
    payment.intent_id = intent_id
    payment.status = FP.SUCCEEDED
    payment.succeeded_at = timezone.now()
    payment.last_error = ""
    payment.save()
    wanted = application.status == S.APPROVED and application.paid_at is None
    if not wanted or amount != application.fee or currency.upper() != payment.currency:
        _refund_later(payment, reason="not needed: application not payable or amount differs")
        return
    stall_fee_mark_paid(application_id=application.pk, method=PaymentMethod.CARD, reference=intent_id, recorded_by=None)
    _notify_applicant(
        application,
        gettext_lazy("Stall fee paid: %(market)s"),
        gettext_lazy(
            "Your card payment of %(fee)s for the %(stall)s stall at %(market)s on %(date)s is received. "
            "The stall is yours; see you there."
        ),
    )


def _refund_later(payment: StallFeePayment, *, reason: str) -> None:
    """Mark a succeeded card payment for refund; the refund is made after commit."""
    payment.status = FP.REFUNDING
    payment.refund_reason = reason[:300]
    payment.save(update_fields=["status", "refund_reason"])
    task_enqueue_on_commit(stall_fee_refund_task, fee_payment_id=payment.pk)


def stall_fee_refund(*, fee_payment_id: int) -> StallFeePayment:
    """Give a card payment marked for refund back through Stripe, and tell the applicant.
    Raises the gateway's errors (the task retries)."""
    payment = StallFeePayment.objects.get(pk=fee_payment_id)
    if payment.status != FP.REFUNDING:
        return payment
    refund = fee_refund(
        intent_id=payment.intent_id,
        amount=payment.amount,
        currency=payment.currency,
        idempotency_key=f"refund-{payment.idempotency_key}",
    )
    with transaction.atomic():
        payment = StallFeePayment.objects.select_for_update().get(pk=fee_payment_id)
        if payment.status != FP.REFUNDING:
            return payment
        payment.status = FP.REFUNDED
        payment.refund_id = refund.id[:255]
        payment.refunded_at = timezone.now()
        payment.save(update_fields=["status", "refund_id", "refunded_at"])
        application = (
            StallApplication.objects.select_related("market_date__market", "stall_type", "applicant")
            .filter(pk=payment.application_id)
            .get()
        )
        notify(
            users=[application.applicant],
            kind=NOTIFICATION_KIND,
            subject=gettext_lazy("Stall fee refunded: %(market)s"),
            body=gettext_lazy(
                "%(amount)s paid by card for your stall at %(market)s on %(date)s is refunded to your card. "
                "It can take a few days to show on your statement."
            ),
            params={
                "market": application.market_date.market.title,
                "date": _date_label(application.market_date),
                "amount": f"¥{payment.amount // 100}.{payment.amount % 100:02d}",
            },
            link=_market_link(application.market_date.market),
        )
    return payment


# --- The day itself ------------------------------------------------------------------------


def _send_no_show(*, user_id: int, event_page_id: int, application_id: int) -> None:
    stall_no_show.send(
        sender=StallApplication, user_id=user_id, event_page_id=event_page_id, application_id=application_id
    )


@transaction.atomic
def stall_no_show_record(*, organiser: User, application_id: int, today: dt.date | None = None) -> StallApplication:
    """An approved vendor did not come. The credit system hears of it after commit."""
    today = today or timezone.localdate()
    application = _locked_application(application_id)
    market = application.market_date.market
    _require_organiser(organiser, market)
    if application.market_date.date > today:
        raise Conflict(_("A no-show can only be recorded on or after the market day."), code="too_early")
    _transition(application, S.NO_SHOW, now=timezone.now())
    application.decided_by = organiser
    application.save()
    transaction.on_commit(
        functools.partial(
            _send_no_show, user_id=application.applicant_id, event_page_id=market.pk, application_id=application.pk
        )
    )
    return application


@transaction.atomic
def market_cancelled_dates_close(*, market_id: int, actor: User | None = None) -> int:
    """After the organiser cancels dates on the page: close the applications still open
    for them and tell the applicants. Idempotent; returns how many were closed."""
    closed = 0
    applications = StallApplication.objects.filter(
        market_date__market_id=market_id, market_date__cancelled=True, status__in=sorted(ACTIVE_STALL_STATUSES)
    ).values_list("pk", flat=True)
    for application_id in list(applications):
        application = _locked_application(application_id)
        application.status = S.CANCELLED
        application.closed_at = timezone.now()
        application.close_reason = _("The market date was cancelled.")
        application.save()
        _notify_applicant(
            application,
            gettext_lazy("%(market)s on %(date)s is cancelled"),
            gettext_lazy(
                "The organiser cancelled %(market)s on %(date)s, so your stall application is cancelled too. "
                "A fee you already paid is refunded by the organiser."
            ),
        )
        closed += 1
    # Listings offered at a cancelled date lose that event in search.
    marked = ListingAtEvent.objects.filter(market_date__market_id=market_id, market_date__cancelled=True)
    for listing_id in set(marked.values_list("listing_id", flat=True)):
        _announce_listing(listing_id)
    return closed


# --- Listings available at an event ---------------------------------------------------------


def _seller_has_stall(listing: Listing, market_date: FleaMarketDate) -> bool:
    approved = StallApplication.objects.filter(market_date=market_date, status=S.APPROVED)
    if listing.seller_organisation_id is not None:
        return approved.filter(organisation_id=listing.seller_organisation_id).exists()
    return approved.filter(applicant_id=listing.seller_user_id, organisation__isnull=True).exists()


@transaction.atomic
def listing_event_mark(
    *, user: User, listing_id: int, market_date_id: int, today: dt.date | None = None
) -> ListingAtEvent:
    """The seller says the listing can be seen and bought at their stall on that date."""
    today = today or timezone.localdate()
    listing = Listing.objects.filter(pk=listing_id).first()
    if listing is None or not listing_can_manage(user=user, listing=listing):
        raise NotFound(_("This listing does not exist."))
    if listing.status not in PUBLIC_STATUSES:
        raise ValidationFailed(_("Only a published listing can be shown at an event."))
    market_date = FleaMarketDate.objects.select_related("market").filter(pk=market_date_id).first()
    if market_date is None or market_date.cancelled or market_date.date < today:
        raise ValidationFailed(_("Choose an upcoming market date."))
    if not _seller_has_stall(listing, market_date):
        raise PermissionDenied(_("You need an approved stall on that date to bring the item."))
    mark, created = ListingAtEvent.objects.get_or_create(
        listing=listing, market_date=market_date, defaults={"added_by": user}
    )
    if created:
        _announce_listing(listing.pk)
    return mark


def _announce_listing(listing_id: int) -> None:
    """The listing's events changed: search re-indexes it (its "event" facet)."""
    transaction.on_commit(lambda: listing_changed.send(sender=Listing, listing_id=listing_id))


@transaction.atomic
def listing_event_unmark(*, user: User, listing_id: int, market_date_id: int) -> None:
    listing = Listing.objects.filter(pk=listing_id).first()
    if listing is None or not listing_can_manage(user=user, listing=listing):
        raise NotFound(_("This listing does not exist."))
    deleted, _rows = ListingAtEvent.objects.filter(listing=listing, market_date_id=market_date_id).delete()
    if deleted:
        _announce_listing(listing.pk)
