"""Tell a user something: an in-app notification, and the same by e-mail after commit.

Subjects and bodies are lazy translatable strings with %-style parameters; each
recipient gets them in their own preferred language."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import pgettext

from marketplace import page_cache
from marketplace.models import Notification, User
from marketplace.services.outbox import task_enqueue_on_commit
from marketplace.tasks import send_email_task

# The verb of a notification's link follows its kind: the kinds below ask the reader to
# do something (answer an offer, pay, ship, decide a case…) and their link says "Take
# action" (处理); a message's says "Reply"; every other kind only informs ("View", 查看).
# The apps that plug into the core (cms, grading, wipe_cert, search) send their own kinds;
# they are listed here as plain strings, so the core still imports none of them.
ACTION_KINDS = frozenset(
    {
        # marketplace: offers, orders, payments, moderation
        "offer_received",
        "offer_countered",
        "offer_accepted",
        "order_placed",
        "order_paid",
        "order_shipped",
        "order_return_requested",
        "order_return_shipped",
        "order_on_hold",
        "order_vouching_revoked",
        "payment_failed",
        "payment_attention",
        "dispute_opened",
        "listing_reported",
        "stolen_match",
        "consignment_invitation",
        # credit
        "rating_received",
        "credit_ring",
        "credit_appeal",
        # cms: a stall application waits for the market's organisers
        "stall_application_received",
        # grading and wipe_cert: staff reviews, and a revoked certificate to replace
        "appraisal_review",
        "price_flag",
        "credential_submitted",
        "certificate_review",
        "certificate_revoked",
    }
)
REPLY_KINDS = frozenset({"message"})


def notification_link_label(kind: str) -> str:
    """The verb on a notification's link, in the current language."""
    if kind in ACTION_KINDS:
        return pgettext("notification link", "Take action")
    if kind in REPLY_KINDS:
        return pgettext("notification link", "Reply")
    return pgettext("notification link", "View")


def render_for(user: User, text: str | Promise, params: Mapping[str, Any]) -> str:
    with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
        rendered = {key: str(value) for key, value in params.items()}
        return str(text) % rendered if rendered else str(text)


@transaction.atomic
def notify(
    *,
    users: Iterable[User | None],
    kind: str,
    subject: str | Promise,
    body: str | Promise,
    params: Mapping[str, Any] | None = None,
    link: str = "",
) -> list[Notification]:
    recipients = {user.pk: user for user in users if user is not None}
    params = params or {}
    notifications = [
        Notification(
            user=user,
            kind=kind,
            subject=render_for(user, subject, params)[:200],
            body=render_for(user, body, params),
            link=link,
        )
        for user in recipients.values()
    ]
    Notification.objects.bulk_create(notifications)
    page_cache.members_changed_on_commit(recipients)  # bulk_create sends no signal
    base = settings.WAGTAILADMIN_BASE_URL.rstrip("/")
    for notification in notifications:
        text = f"{notification.body}\n\n{base}{link}" if link else notification.body
        payload = {
            "subject": notification.subject,
            "body": text,
            "from_email": settings.DEFAULT_FROM_EMAIL,
            "to": [recipients[notification.user_id].email],
        }
        task_enqueue_on_commit(send_email_task, **payload)
    return notifications


def notify_address(
    *,
    email: str,
    subject: str | Promise,
    body: str | Promise,
    params: Mapping[str, Any] | None = None,
    link: str = "",
    language: str = "",
) -> None:
    """The same e-mail, after commit, to an address that may have no account here (an
    invitation): no in-app notification, written in `language` or the site's."""
    params = params or {}
    with translation.override(language or settings.LANGUAGE_CODE):
        rendered = {key: str(value) for key, value in params.items()}
        subject_text = (str(subject) % rendered if rendered else str(subject))[:200]
        body_text = str(body) % rendered if rendered else str(body)
    base = settings.WAGTAILADMIN_BASE_URL.rstrip("/")
    text = f"{body_text}\n\n{base}{link}" if link else body_text
    task_enqueue_on_commit(
        send_email_task, subject=subject_text, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[email]
    )


def moderators() -> list[User]:
    """Everyone who works the moderation queue: active staff."""
    return list(User.objects.filter(is_staff=True, is_active=True).order_by("pk"))


def notifications_mark_all_read(*, user: User) -> int:
    """Mark every unread notification of `user` read; returns how many changed."""
    page_cache.members_changed_on_commit([user.pk])
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
