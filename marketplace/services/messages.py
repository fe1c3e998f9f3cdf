"""Messages between a buyer and the seller about a listing (and its order).

Each conversation is (listing, buyer). Contact and payment details are found by
`marketplace.contact_screening` and shown masked, with a warning about paying outside
the platform, until the two have an order together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace.contact_screening import screen
from marketplace.errors import NotFound, PermissionDenied, ValidationFailed
from marketplace.models import Listing, Message, Order, User
from marketplace.models.listings import PUBLIC_STATUSES
from marketplace.models.orders import ENDED_STATUSES
from marketplace.services.listings import listing_can_manage, listing_can_view
from marketplace.services.notifications import notify
from marketplace.services.offers import listing_seller_users
from marketplace.services.orders import has_order_together
from marketplace.services.retention import REMOVED_MESSAGE_TEXT, message_is_removed

MAX_LENGTH = 2000


@dataclass(frozen=True)
class ShownMessage:
    id: int
    sender_id: int
    sender_name: str
    from_seller: bool
    text: str
    masked: bool  # contact details were hidden in `text`
    flags: tuple[str, ...]
    created_at: datetime
    removed: bool = False  # the sender deleted their account (see services.retention)


def _listing(listing_id: int) -> Listing:
    listing = Listing.objects.select_related("seller_user", "seller_organisation").filter(pk=listing_id).first()
    if listing is None:
        raise NotFound(_("No such listing."))
    return listing


def _conversation_buyer(*, user: User, listing: Listing, buyer_id: int | None) -> User:
    """The buyer side of the conversation `user` may read: themself, or (for the seller)
    the buyer they name."""
    if not user.is_authenticated:
        raise PermissionDenied(_("Log in to send messages."))
    if listing_can_manage(user=user, listing=listing):
        buyer = User.objects.filter(pk=buyer_id).first() if buyer_id else None
        if buyer is None or buyer.pk == user.pk:
            raise NotFound(_("No such conversation."))
        return buyer
    if buyer_id not in (None, user.pk) and not user.is_staff:
        raise NotFound(_("No such conversation."))
    if buyer_id and user.is_staff and buyer_id != user.pk:
        buyer = User.objects.filter(pk=buyer_id).first()
        if buyer is None:
            raise NotFound(_("No such conversation."))
        return buyer
    return user


@transaction.atomic
def message_send(*, sender: User, listing_id: int, body: str, buyer_id: int | None = None) -> Message:
    """Send a message about a listing: a buyer to its seller, or the seller to a buyer
    who wrote first or ordered."""
    listing = _listing(listing_id)
    buyer = _conversation_buyer(user=sender, listing=listing, buyer_id=buyer_id)
    is_seller = listing_can_manage(user=sender, listing=listing)
    if not is_seller and buyer.pk != sender.pk:
        raise PermissionDenied(_("Only the buyer and the seller write in this conversation."))
    started = (
        Message.objects.filter(listing=listing, buyer=buyer).exists()
        or Order.objects.filter(listing=listing, buyer=buyer).exists()
    )
    if is_seller and not started:
        raise NotFound(_("No such conversation."))
    if not is_seller and listing.status not in PUBLIC_STATUSES and not started:
        raise NotFound(_("No such listing."))
    body = (body or "").strip()
    if not body:
        raise ValidationFailed(_("Write a message."), details={"fields": {"body": [_("Empty message.")]}})
    if len(body) > MAX_LENGTH:
        raise ValidationFailed(
            _("A message has at most %(count)d characters.") % {"count": MAX_LENGTH},
            details={"fields": {"body": [_("Too long.")]}},
        )
    screened = screen(body)
    order = (
        Order.objects.filter(listing=listing, buyer=buyer)
        .exclude(status__in=list(ENDED_STATUSES))
        .order_by("-pk")
        .first()
    )
    message = Message.objects.create(
        listing=listing,
        buyer=buyer,
        sender=sender,
        order=order,
        body=body,
        masked_body=screened.masked,
        flags=list(screened.flags),
    )
    recipients = listing_seller_users(listing) if not is_seller else [buyer]
    link = f"/listings/{listing.pk}/messages/" + ("" if is_seller else f"?buyer={buyer.pk}")
    notify(
        users=[user for user in recipients if user.pk != sender.pk],
        kind="message",
        subject=gettext_lazy("New message about %(title)s"),
        body=gettext_lazy("%(sender)s wrote about “%(title)s”: %(text)s"),
        params={"title": listing.title, "sender": sender.public_name, "text": screened.masked[:300]},
        link=link,
    )
    return message


def conversation(
    *, user: User, listing_id: int, buyer_id: int | None = None
) -> tuple[Listing, User, list[ShownMessage]]:
    """The messages of one conversation as `user` may see them."""
    listing = _listing(listing_id)
    buyer = _conversation_buyer(user=user, listing=listing, buyer_id=buyer_id)
    if (
        not listing_can_view(user=user, listing=listing)
        and not Message.objects.filter(listing=listing, buyer=buyer).exists()
    ):
        # Someone else's draft or withdrawn listing is as missing as one that never existed.
        raise NotFound(_("No such listing."))
    unmasked = user.is_staff or has_order_together(listing_id=listing.pk, buyer_id=buyer.pk)
    rows = Message.objects.filter(listing=listing, buyer=buyer).select_related("sender").order_by("created_at", "pk")
    shown = [
        ShownMessage(
            id=m.pk,
            sender_id=m.sender_id,
            sender_name=m.sender.public_name,
            from_seller=m.sender_id != buyer.pk,
            text=str(REMOVED_MESSAGE_TEXT) if message_is_removed(m) else m.body if unmasked else m.masked_body,
            masked=bool(m.flags) and not unmasked,
            flags=tuple(m.flags),
            created_at=m.created_at,
            removed=message_is_removed(m),
        )
        for m in rows
    ]
    return listing, buyer, shown


def conversations_with_buyers(*, seller: User, listing_id: int) -> list[User]:
    """The buyers who wrote about a listing the user sells, latest conversation first."""
    listing = _listing(listing_id)
    if not listing_can_manage(user=seller, listing=listing):
        raise NotFound(_("No such listing."))
    rows = Message.objects.filter(listing=listing).values("buyer_id").annotate(last=Max("created_at")).order_by("-last")
    ids = [row["buyer_id"] for row in rows]
    users = User.objects.in_bulk(ids)
    return [users[pk] for pk in ids if pk in users]
