"""Offers: a buyer proposes a price, the seller accepts, counters or declines (and the
buyer may answer a counter the same way). Each offer is open for 48 hours; accepting
one places the order at that price. One open offer per buyer and listing (a constraint)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace import page_cache
from marketplace.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.models import Listing, ListingStatus, Offer, OfferSide, OfferStatus, User
from marketplace.services.listings import listing_can_manage
from marketplace.services.notifications import notify
from marketplace.services.order_state import SELLER_ROLES
from marketplace.services.orders import check_delivery_and_payment, order_place
from marketplace.templatetags.listing_tags import format_money


def _lifetime() -> dt.timedelta:
    return dt.timedelta(hours=settings.MARKETPLACE_OFFER_LIFETIME_HOURS)


def listing_seller_users(listing: Listing) -> list[User]:
    if listing.seller_user is not None:
        return [listing.seller_user]
    return list(
        User.objects.filter(
            memberships__organisation=listing.seller_organisation,
            memberships__role__in=SELLER_ROLES,
            is_active=True,
        ).distinct()
    )


def _notify_offer(offer: Offer, *, kind: str, to: str, subject: object, body: object) -> None:
    listing = offer.listing
    users = [offer.buyer] if to == OfferSide.BUYER else listing_seller_users(listing)
    link = f"/listings/{listing.pk}/" if to == OfferSide.BUYER else f"/my/listings/{listing.pk}/"
    notify(
        users=users,
        kind=kind,
        subject=subject,  # type: ignore[arg-type]
        body=body,  # type: ignore[arg-type]
        params={
            "title": listing.title,
            "amount": format_money(offer.amount, offer.currency),
            "price": format_money(listing.price, listing.currency),
            "buyer": offer.buyer.public_name,
        },
        link=link,
    )


def offer_side(user: User, offer: Offer) -> str:
    if user.is_authenticated and offer.buyer_id == user.pk:
        return OfferSide.BUYER
    if listing_can_manage(user=user, listing=offer.listing):
        return OfferSide.SELLER
    return ""


def _check_amount(amount: int, listing: Listing, *, below_price: bool) -> None:
    if not isinstance(amount, int) or amount <= 0:
        raise ValidationFailed(_("Enter a price."), details={"fields": {"amount": [_("Enter a positive amount.")]}})
    if (below_price and amount >= listing.price) or amount > listing.price:
        raise ValidationFailed(
            _("An offer is below the asking price of %(price)s; to pay the asking price, buy the item.")
            % {"price": format_money(listing.price, listing.currency)},
            details={"fields": {"amount": [_("Too high.")]}},
        )


@transaction.atomic
def offer_make(
    *, buyer: User, listing_id: int, amount: int, delivery_method: str, payment_method: str, message: str = ""
) -> Offer:
    listing = (
        Listing.objects.select_related("seller_user", "seller_organisation")
        .filter(pk=listing_id, status__in=[ListingStatus.PUBLISHED, ListingStatus.RESERVED, ListingStatus.SOLD])
        .first()
    )
    if listing is None:
        raise NotFound(_("No such listing."))
    if listing_can_manage(user=buyer, listing=listing):
        raise PermissionDenied(_("You cannot make an offer on your own listing."))
    if listing.status != ListingStatus.PUBLISHED:
        raise Conflict(_("This item is not available for offers right now."), code="listing_not_available")
    _check_amount(amount, listing, below_price=True)
    check_delivery_and_payment(listing, delivery_method, payment_method)
    # An offer past its 48 hours no longer counts as open, even before the beat task runs.
    Offer.objects.filter(listing=listing, buyer=buyer, status=OfferStatus.OPEN, expires_at__lte=timezone.now()).update(
        status=OfferStatus.EXPIRED
    )
    page_cache.members_changed_on_commit([buyer.pk])
    try:
        with transaction.atomic():
            offer = Offer.objects.create(
                listing=listing,
                buyer=buyer,
                proposed_by=OfferSide.BUYER,
                amount=amount,
                currency=listing.currency,
                delivery_method=delivery_method,
                payment_method=payment_method,
                message=(message or "").strip()[:500],
                expires_at=timezone.now() + _lifetime(),
            )
    except IntegrityError as exc:
        raise Conflict(
            _("You already have an open offer on this item; wait for the answer or withdraw it."),
            code="offer_already_open",
        ) from exc
    _notify_offer(
        offer,
        kind="offer_received",
        to=OfferSide.SELLER,
        subject=gettext_lazy("Offer of %(amount)s for %(title)s"),
        body=gettext_lazy(
            "%(buyer)s offers %(amount)s for “%(title)s” (asking %(price)s). Accept, counter or decline within "
            "48 hours."
        ),
    )
    _notify_offer(
        offer,
        kind="offer_made",
        to=OfferSide.BUYER,
        subject=gettext_lazy("Your offer for %(title)s"),
        body=gettext_lazy("You offered %(amount)s for “%(title)s”. The seller has 48 hours to answer."),
    )
    return offer


def _locked_open_offer(user: User, offer_id: int) -> tuple[Offer, str]:
    offer = (
        Offer.objects.select_for_update(of=("self",))
        .select_related("listing", "listing__seller_user", "listing__seller_organisation", "buyer")
        .filter(pk=offer_id)
        .first()
    )
    side = offer_side(user, offer) if offer is not None else ""
    if offer is None or not side:
        raise NotFound(_("No such offer."))
    if offer.status == OfferStatus.OPEN and offer.expires_at <= timezone.now():
        offer.status = OfferStatus.EXPIRED
        offer.save()
    if offer.status != OfferStatus.OPEN:
        raise Conflict(
            _("This offer is no longer open (%(status)s).") % {"status": offer.get_status_display().lower()},
            code="offer_not_open",
        )
    return offer, side


def _require_responder(offer: Offer, side: str) -> None:
    if side != offer.responder_side:
        raise PermissionDenied(_("Only the other side can answer this offer."))


@transaction.atomic
def offer_accept(*, actor: User, offer_id: int) -> Offer:
    """Accept the open offer: the order is placed at its price (the listing is reserved)."""
    offer, side = _locked_open_offer(actor, offer_id)
    _require_responder(offer, side)
    order = order_place(
        buyer=offer.buyer,
        listing_id=offer.listing_id,
        delivery_method=offer.delivery_method,
        payment_method=offer.payment_method,
        offer=offer,
    )
    offer.status = OfferStatus.ACCEPTED
    offer.responded_at = timezone.now()
    offer.order = order
    offer.save()
    to = OfferSide.BUYER if side == OfferSide.SELLER else OfferSide.SELLER
    _notify_offer(
        offer,
        kind="offer_accepted",
        to=to,
        subject=gettext_lazy("Offer accepted: %(title)s"),
        body=gettext_lazy("The offer of %(amount)s for “%(title)s” was accepted; the order is placed at that price."),
    )
    return offer


@transaction.atomic
def offer_counter(*, actor: User, offer_id: int, amount: int, message: str = "") -> Offer:
    """Answer with another price; the answered offer is closed and the counter is open for 48 hours."""
    offer, side = _locked_open_offer(actor, offer_id)
    _require_responder(offer, side)
    _check_amount(amount, offer.listing, below_price=False)
    if amount == offer.amount:
        raise ValidationFailed(
            _("To agree to this price, accept the offer."), details={"fields": {"amount": [_("Same price.")]}}
        )
    offer.status = OfferStatus.COUNTERED
    offer.responded_at = timezone.now()
    offer.save()
    counter = Offer.objects.create(
        listing=offer.listing,
        buyer=offer.buyer,
        proposed_by=side,
        amount=amount,
        currency=offer.currency,
        delivery_method=offer.delivery_method,
        payment_method=offer.payment_method,
        message=(message or "").strip()[:500],
        parent=offer,
        expires_at=timezone.now() + _lifetime(),
    )
    _notify_offer(
        counter,
        kind="offer_countered",
        to=counter.responder_side,
        subject=gettext_lazy("Counter-offer for %(title)s"),
        body=gettext_lazy(
            "The counter-offer for “%(title)s” is %(amount)s. Accept, counter or decline within 48 hours."
        ),
    )
    return counter


@transaction.atomic
def offer_decline(*, actor: User, offer_id: int) -> Offer:
    offer, side = _locked_open_offer(actor, offer_id)
    if side == offer.proposed_by:
        offer.status = OfferStatus.WITHDRAWN  # the proposer takes it back
    else:
        offer.status = OfferStatus.DECLINED
    offer.responded_at = timezone.now()
    offer.save()
    other = offer.responder_side if side == offer.proposed_by else offer.proposed_by
    _notify_offer(
        offer,
        kind="offer_declined",
        to=other,
        subject=gettext_lazy("Offer closed: %(title)s"),
        body=gettext_lazy("The offer of %(amount)s for “%(title)s” was declined or withdrawn."),
    )
    return offer


def offers_expire(*, now: dt.datetime | None = None) -> list[int]:
    """Close every open offer older than its 48 hours, and tell both sides."""
    now = now or timezone.now()
    expired = []
    for offer_id in list(
        Offer.objects.filter(status=OfferStatus.OPEN, expires_at__lte=now).values_list("pk", flat=True)
    ):
        with transaction.atomic():
            offer = (
                Offer.objects.select_for_update(of=("self",))
                .select_related("listing", "listing__seller_user", "buyer")
                .filter(pk=offer_id, status=OfferStatus.OPEN, expires_at__lte=now)
                .first()
            )
            if offer is None:
                continue
            offer.status = OfferStatus.EXPIRED
            offer.save()
            for to in (OfferSide.BUYER, OfferSide.SELLER):
                _notify_offer(
                    offer,
                    kind="offer_expired",
                    to=to,
                    subject=gettext_lazy("Offer expired: %(title)s"),
                    body=gettext_lazy("The offer of %(amount)s for “%(title)s” expired without an answer."),
                )
            expired.append(offer_id)
    return expired
