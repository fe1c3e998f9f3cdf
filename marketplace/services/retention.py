"""How long personal information is kept (PIPL art. 19: no longer than the purpose needs).

Two moments apply the periods SECURITY.md ("Retention") states:

- deleting an account (`erase_sent_messages`, one of MARKETPLACE_ACCOUNT_ERASERS):
  the messages the person wrote are emptied, except in a conversation whose order has a
  dispute open — the moderator deciding it reads the conversation as evidence;
- the daily retention job (`personal_data_retention`, Celery beat): messages of deleted
  accounts kept for a dispute are emptied once no dispute is open any more; conversations
  that never became an order are deleted a year after their last message; notifications
  are deleted a year after they were sent.

An emptied message keeps its row (so the conversation still reads in order) with an
empty body; `marketplace.services.messages.conversation` shows it as "(message removed:
the sender deleted their account)" in the reader's language. There is no legal-hold
record yet: only an open dispute keeps a message as written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy

from marketplace.models import DisputeStatus, Message, Notification, Order, User
from marketplace.services.privacy import DELETED_EMAIL_DOMAIN

# Shown in place of a message whose sender deleted their account.
REMOVED_MESSAGE_TEXT = gettext_lazy("(message removed: the sender deleted their account)")
# What the periods default to; SECURITY.md states the same numbers.
DEFAULT_PREORDER_MESSAGE_DAYS = 365
DEFAULT_NOTIFICATION_DAYS = 365


def message_is_removed(message: Message) -> bool:
    """An emptied message: `message_send` refuses empty bodies, so only erasure makes one."""
    return message.body == ""


def _disputed_conversation() -> Exists:
    """True for a message whose conversation (listing, buyer) has an order with an open dispute."""
    return Exists(
        Order.objects.filter(
            listing_id=OuterRef("listing_id"),
            buyer_id=OuterRef("buyer_id"),
            disputes__status=DisputeStatus.OPEN,
        )
    )


def _empty(messages: QuerySet[Message]) -> int:
    return messages.exclude(body="").update(body="", masked_body="", flags=[])


@transaction.atomic
def messages_erase_for_sender(*, user: User) -> int:
    """Empty every message `user` sent, except where a dispute is open. Returns how many."""
    return _empty(Message.objects.filter(sender=user).exclude(_disputed_conversation()))


def erase_sent_messages(user: User) -> None:
    """Account eraser (MARKETPLACE_ACCOUNT_ERASERS)."""
    messages_erase_for_sender(user=user)


@dataclass(frozen=True)
class RetentionReport:
    messages_emptied: int  # of deleted accounts, kept for a dispute that is now decided
    preorder_messages_deleted: int
    notifications_deleted: int


def _days(setting: str, default: int) -> dt.timedelta:
    return dt.timedelta(days=int(getattr(settings, setting, default)))


@transaction.atomic
def personal_data_retention(*, now: dt.datetime | None = None) -> RetentionReport:
    """Apply the retention periods once. Idempotent: a missed or repeated run only
    catches up."""
    now = now or timezone.now()

    deleted_senders = User.objects.filter(is_active=False, email__endswith=f"@{DELETED_EMAIL_DOMAIN}")
    emptied = _empty(Message.objects.filter(sender__in=deleted_senders).exclude(_disputed_conversation()))

    # A conversation is (listing, buyer); it "became an order" if the buyer ever ordered
    # the listing (any status: a cancelled or refunded order is still a commerce record).
    preorder_cutoff = now - _days("MARKETPLACE_RETENTION_PREORDER_MESSAGE_DAYS", DEFAULT_PREORDER_MESSAGE_DAYS)
    stale = (
        Message.objects.exclude(
            Exists(Order.objects.filter(listing_id=OuterRef("listing_id"), buyer_id=OuterRef("buyer_id")))
        )
        .values("listing_id", "buyer_id")
        .annotate(last=Max("created_at"))
        .filter(last__lt=preorder_cutoff)
    )
    preorder_deleted = 0
    for conversation in stale:
        count, _ = Message.objects.filter(
            listing_id=conversation["listing_id"], buyer_id=conversation["buyer_id"], created_at__lt=preorder_cutoff
        ).delete()
        preorder_deleted += count

    notification_cutoff = now - _days("MARKETPLACE_RETENTION_NOTIFICATION_DAYS", DEFAULT_NOTIFICATION_DAYS)
    notifications_deleted, _ = Notification.objects.filter(created_at__lt=notification_cutoff).delete()

    return RetentionReport(
        messages_emptied=emptied,
        preorder_messages_deleted=preorder_deleted,
        notifications_deleted=notifications_deleted,
    )
