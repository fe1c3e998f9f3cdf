"""Personal-information rights (PIPL, 个人信息保护法 arts. 45 and 47): a person may take a
copy of their data and have their account deleted.

Deleting an account detaches the person rather than deleting rows: orders, ledger entries,
appraisals and erasure certificates must be kept (commerce, tax and product-safety
retention), so they stay, pointing at a user row that no longer says who it was — the
e-mail address becomes a non-routable placeholder, names are cleared, the password is
made unusable, e-mail addresses, two-factor devices and sessions are removed.

Other apps take part without the core importing them, through settings lists of dotted
paths (like the publication gates):

- MARKETPLACE_PERSONAL_DATA_EXPORTERS: callables (user) -> {section: data} merged into
  the export; ``linked_records`` at the end covers every other model that points at the
  user, so a new app's data is never silently left out;
- MARKETPLACE_ACCOUNT_DELETION_CHECKS: callables (user) -> [reason, …]; any reason
  refuses the deletion with that message;
- MARKETPLACE_ACCOUNT_ERASERS: callables (user) run inside the deleting transaction;
- MARKETPLACE_ACCOUNT_DELETED_MODELS: "app_label.Model" labels whose rows pointing at the
  user are deleted outright (saved searches, notifications).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.apps import apps
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from marketplace import page_cache
from marketplace.errors import Conflict, PermissionDenied
from marketplace.models import (
    ATTRIBUTE_MODELS,
    Listing,
    ListingStatus,
    Membership,
    Message,
    Notification,
    Offer,
    OfferStatus,
    Order,
    OrderStatus,
    User,
)
from marketplace.services.lifecycle import listing_transition

EXPORT_FORMAT = "xunhuan-personal-data/1"
# RFC 2606 reserves .invalid: mail to it can never be delivered anywhere.
DELETED_EMAIL_DOMAIN = "deleted.invalid"

Exporter = Callable[[User], dict[str, Any]]
DeletionCheck = Callable[[User], list[str]]
Eraser = Callable[[User], None]

# Orders in these states are finished for the person: nothing more is owed either way
# (a completed order may still see a return or dispute, but only within its window,
# which the checks below look at).
FINISHED_ORDER_STATUSES = frozenset({OrderStatus.COMPLETED, OrderStatus.CANCELLED, OrderStatus.REFUNDED})
# Listings the person still offers: withdrawn on deletion.
WITHDRAWABLE_LISTING_STATUSES = frozenset(
    {
        ListingStatus.DRAFT,
        ListingStatus.PENDING_APPRAISAL,
        ListingStatus.PENDING_ERASURE,
        ListingStatus.READY,
        ListingStatus.PUBLISHED,
    }
)
# Field names never exported: credentials, keys, signatures, one-time codes.
SECRET_FIELD_MARKERS = ("password", "secret", "token", "key", "hash", "encrypted", "signature", "code", "session")
# Models the core exporters cover, or that hold nothing but credentials and sessions.
NOT_LINKED_RECORDS = frozenset(
    {
        "marketplace.User",
        "marketplace.Membership",
        "marketplace.Listing",
        "marketplace.Order",
        "marketplace.Offer",
        "marketplace.Message",
        "marketplace.Notification",
        "account.EmailAddress",
        "mfa.Authenticator",
        "usersessions.UserSession",
        "admin.LogEntry",
    }
)


def _load(setting: str) -> list[Any]:
    return [import_string(path) for path in getattr(settings, setting, [])]


# --- Export ---------------------------------------------------------------------------


def _value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return None
    if hasattr(value, "name") and hasattr(value, "storage"):  # a file field
        return value.name or None
    return value


def _is_secret(name: str) -> bool:
    return any(marker in name for marker in SECRET_FIELD_MARKERS)


def record_as_dict(obj: models.Model, *, user: User, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """A row's own fields as JSON-ready values. Links to other people are left out (only
    links to `user` are kept, as "you"), and so are credentials."""
    skip = set(exclude)
    out: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        if field.name in skip or _is_secret(field.name) or isinstance(field, models.BinaryField):
            continue
        if field.is_relation:
            raw = getattr(obj, field.attname)
            if field.related_model is User:
                if raw == user.pk:
                    out[field.name] = "you"
                continue
            out[field.attname] = raw
            continue
        out[field.name] = _value(getattr(obj, field.attname))
    return out


def export_account(user: User) -> dict[str, Any]:
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from allauth.usersessions.models import UserSession

    memberships = Membership.objects.filter(user=user).select_related("organisation").order_by("pk")
    return {
        "account": {
            "id": user.pk,
            "email": user.email,
            "display_name": user.display_name,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "preferred_language": user.preferred_language,
            "date_joined": _value(user.date_joined),
            "last_login": _value(user.last_login),
        },
        "email_addresses": [
            {"email": a.email, "verified": a.verified, "primary": a.primary}
            for a in EmailAddress.objects.filter(user=user).order_by("pk")
        ],
        "two_factor_methods": sorted(set(Authenticator.objects.filter(user=user).values_list("type", flat=True))),
        "sessions": [
            {
                "ip": s.ip,
                "user_agent": s.user_agent,
                "created_at": _value(s.created_at),
                "last_seen_at": _value(s.last_seen_at),
            }
            for s in UserSession.objects.filter(user=user).order_by("pk")
        ],
        "memberships": [
            {
                "organisation": m.organisation.name,
                "kind": m.organisation.kind,
                "role": m.role,
                "since": _value(m.created_at),
            }
            for m in memberships
        ],
    }


def export_listings(user: User) -> dict[str, Any]:
    listings = (
        Listing.objects.filter(Q(seller_user=user) | Q(consignor=user))
        .select_related(*(model.related_accessor for model in ATTRIBUTE_MODELS.values()))
        .order_by("pk")
    )
    out = []
    for listing in listings:
        row = record_as_dict(listing, user=user)
        attributes = listing.attributes
        if attributes is not None:
            row["attributes"] = record_as_dict(attributes, user=user, exclude=("id", "listing"))
        out.append(row)
    return {"listings": out}


def _order_row(order: Order, user: User) -> dict[str, Any]:
    row = record_as_dict(order, user=user, exclude=("handshake_failures", "timer_remaining", "status_before_dispute"))
    # The other party by the name the site shows them, never their e-mail address.
    if order.buyer_id == user.pk:
        row["seller"] = order.seller_name
    else:
        row["buyer"] = order.buyer.public_name
    return row


def export_orders(user: User) -> dict[str, Any]:
    related = ("buyer", "seller_user", "seller_organisation")
    return {
        "orders_as_buyer": [
            _order_row(o, user) for o in Order.objects.filter(buyer=user).select_related(*related).order_by("pk")
        ],
        "orders_as_seller": [
            _order_row(o, user)
            for o in Order.objects.filter(Q(seller_user=user) | Q(consignor=user))
            .select_related(*related)
            .order_by("pk")
        ],
    }


def export_offers_and_messages(user: User) -> dict[str, Any]:
    offers = Offer.objects.filter(buyer=user).order_by("pk")
    sent = Message.objects.filter(sender=user).order_by("pk")
    return {
        "offers": [record_as_dict(o, user=user) for o in offers],
        # What you wrote; the other side's messages are theirs.
        "messages_sent": [record_as_dict(m, user=user, exclude=("masked_body", "flags", "read_at")) for m in sent],
    }


def export_notifications(user: User) -> dict[str, Any]:
    return {"notifications": [record_as_dict(n, user=user) for n in Notification.objects.filter(user=user)]}


def _user_links() -> list[tuple[type[models.Model], list[str]]]:
    links = []
    for model in apps.get_models():
        if model._meta.label in NOT_LINKED_RECORDS or model._meta.app_label.startswith("wagtail"):
            continue
        names = [
            f.name
            for f in model._meta.concrete_fields
            if f.is_relation and f.related_model is User and not _is_secret(f.name)
        ]
        if names:
            links.append((model, names))
    return links


def export_linked_records(user: User) -> dict[str, Any]:
    """Everything else that points at the person, from any app (ratings, appraisals,
    certificates, saved searches, stall applications…), grouped by model."""
    out: dict[str, list[dict[str, Any]]] = {}
    for model, names in _user_links():
        condition = Q()
        for name in names:
            condition |= Q(**{name: user})
        rows = [record_as_dict(obj, user=user) for obj in model._default_manager.filter(condition).order_by("pk")]
        if rows:
            out[model._meta.label] = rows
    return {"linked_records": out}


def personal_data_export(*, user: User) -> dict[str, Any]:
    """Everything the platform holds about `user`, as JSON-ready data."""
    data: dict[str, Any] = {"format": EXPORT_FORMAT, "generated_at": timezone.now().isoformat()}
    for exporter in _load("MARKETPLACE_PERSONAL_DATA_EXPORTERS"):
        data.update(exporter(user))
    return data


# --- Deletion -------------------------------------------------------------------------


def open_orders_check(user: User) -> list[str]:
    """Orders still under way (money held, items on the road, returns or disputes) must
    finish first. Completed orders do not block: a later return or dispute is settled
    with the detached account."""
    parties = Q(buyer=user) | Q(seller_user=user) | Q(consignor=user)
    open_orders = list(
        Order.objects.filter(parties).exclude(status__in=FINISHED_ORDER_STATUSES).values_list("pk", flat=True)
    )
    if not open_orders:
        return []
    numbers = ", ".join(f"#{pk}" for pk in open_orders[:10])
    return [
        _("You have orders that are not finished yet (%(orders)s). Complete or cancel them, then delete your account.")
        % {"orders": numbers}
    ]


def consigned_items_check(user: User) -> list[str]:
    """Items a shop sells for the person: the shop must hand them back or sell them first.
    One reason per shop, naming the items and how to end the tie."""
    listings = (
        Listing.objects.filter(consignor=user, status__in=[*WITHDRAWABLE_LISTING_STATUSES, ListingStatus.RESERVED])
        .select_related("seller_organisation")
        .order_by("seller_organisation__name", "pk")
    )
    by_shop: dict[str, list[str]] = {}
    for listing in listings:
        shop = listing.seller_organisation.name if listing.seller_organisation else ""
        by_shop.setdefault(shop, []).append(f"“{listing.title}”")
    return [
        _(
            "%(shop)s is still selling or holding these items for you: %(items)s. Ask the shop to return them to you "
            "or withdraw them; then end your agreement with the shop on your consignment page. If the shop does not "
            "answer, contact us: our staff can release you from the agreement."
        )
        % {"shop": shop, "items": "、".join(titles[:10]) + (" …" if len(titles) > 10 else "")}
        for shop, titles in by_shop.items()
    ]


def staff_check(user: User) -> list[str]:
    if user.is_staff or user.is_superuser:
        return [_("Staff accounts are closed by another administrator.")]
    return []


def account_deletion_blockers(*, user: User) -> list[str]:
    """Reasons the account cannot be deleted yet, in words the person can act on."""
    reasons: list[str] = []
    for check in _load("MARKETPLACE_ACCOUNT_DELETION_CHECKS"):
        reasons.extend(check(user))
    return reasons


def withdraw_listings(user: User) -> None:
    listings = (
        Listing.objects.select_for_update()
        .filter(seller_user=user, status__in=WITHDRAWABLE_LISTING_STATUSES)
        .order_by("pk")
    )
    for listing in listings:
        listing_transition(listing=listing, to_status=ListingStatus.WITHDRAWN, actor=None, reason="account deleted")


def withdraw_offers(user: User) -> None:
    Offer.objects.filter(buyer=user, status=OfferStatus.OPEN).update(
        status=OfferStatus.WITHDRAWN, responded_at=timezone.now()
    )
    page_cache.members_changed_on_commit([user.pk])


def remove_credentials_and_sessions(user: User) -> None:
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from allauth.usersessions.models import UserSession

    session_store: type[SessionBase] = import_string(f"{settings.SESSION_ENGINE}.SessionStore")
    for session_key in UserSession.objects.filter(user=user).values_list("session_key", flat=True):
        session_store(session_key).delete()
    UserSession.objects.filter(user=user).delete()
    EmailAddress.objects.filter(user=user).delete()
    Authenticator.objects.filter(user=user).delete()
    Membership.objects.filter(user=user).delete()


def delete_linked_records(user: User) -> None:
    for label in getattr(settings, "MARKETPLACE_ACCOUNT_DELETED_MODELS", []):
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        names = [f.name for f in model._meta.concrete_fields if f.is_relation and f.related_model is User]
        condition = Q()
        for name in names:
            condition |= Q(**{name: user})
        if names:
            model._default_manager.filter(condition).delete()


def anonymise_user(user: User) -> None:
    user.email = f"deleted-{user.pk}@{DELETED_EMAIL_DOMAIN}"
    user.display_name = ""
    user.first_name = ""
    user.last_name = ""
    user.preferred_language = settings.LANGUAGE_CODE
    user.is_active = False
    user.last_login = None
    user.set_unusable_password()
    user.save()


def user_is_deleted(user: User) -> bool:
    return user.email.endswith(f"@{DELETED_EMAIL_DOMAIN}") and not user.is_active


@transaction.atomic
def account_delete(*, user: User, password: str) -> User:
    """Delete `user`'s account after checking their password again.

    Raises PermissionDenied for a wrong password and Conflict (with every reason in
    ``details["reasons"]``) while something still needs the person."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user_is_deleted(user):
        return user
    if not password or not user.check_password(password):
        raise PermissionDenied(_("The password is not correct."), code="reauthentication_failed")
    reasons = account_deletion_blockers(user=user)
    if reasons:
        raise Conflict(" ".join(reasons), code="account_in_use", details={"reasons": reasons})
    for erase in _load("MARKETPLACE_ACCOUNT_ERASERS"):
        erase(user)
    anonymise_user(user)
    return user
