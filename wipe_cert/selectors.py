"""Reads for the erasure-certificate pages and API, with their related rows loaded."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet

from marketplace.models import Membership, Organisation, OrganisationKind, Role, User
from wipe_cert.models import ErasureCertificate

PROVIDER_MEMBER_ROLES = (Role.OWNER, Role.STAFF, Role.TECHNICIAN)


def _as_uuid(value: Any) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def certificates_with_relations() -> QuerySet[ErasureCertificate]:
    return ErasureCertificate.objects.select_related(
        "provider", "technician", "credential", "provider_key", "platform_key", "listing", "log_entry"
    )


def certificate_get(*, certificate_id: Any) -> ErasureCertificate | None:
    pk = _as_uuid(certificate_id)
    return None if pk is None else certificates_with_relations().filter(pk=pk).first()


def providers_of_member(*, user: User, roles: tuple[str, ...] = PROVIDER_MEMBER_ROLES) -> list[Organisation]:
    """The erasure providers the user works for (in one of `roles`), by name."""
    if not user.is_authenticated:
        return []
    ids = Membership.objects.filter(
        user=user, role__in=roles, organisation__kind=OrganisationKind.ERASURE_PROVIDER
    ).values_list("organisation_id", flat=True)
    return list(Organisation.objects.filter(pk__in=ids).order_by("name", "pk"))


def certificates_of_member(*, user: User) -> QuerySet[ErasureCertificate]:
    """Every certificate of the providers the user works for, newest first."""
    providers = [provider.pk for provider in providers_of_member(user=user)]
    return certificates_with_relations().filter(provider_id__in=providers).order_by("-created_at")


def certificate_for_member(*, user: User, certificate_id: Any) -> ErasureCertificate | None:
    pk = _as_uuid(certificate_id)
    return None if pk is None else certificates_of_member(user=user).filter(pk=pk).first()
