"""State changes for users, organisations and memberships."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from marketplace.errors import MFARequired, PermissionDenied, ValidationFailed
from marketplace.models import Membership, Organisation, Role, User


def user_has_mfa(*, user: User) -> bool:
    from allauth.mfa.utils import is_mfa_enabled

    return bool(user.is_authenticated and is_mfa_enabled(user))


def role_requires_mfa(role: str) -> bool:
    return role in settings.MARKETPLACE_MFA_REQUIRED_ROLES


@transaction.atomic
def organisation_create(
    *,
    name: str,
    kind: str,
    uscc: str = "",
    city: str = "",
    district: str = "",
    owner: User | None = None,
) -> Organisation:
    """Register an organisation (unverified until staff check it) and make `owner` its owner."""
    organisation = Organisation(name=name.strip(), kind=kind, uscc=uscc.strip().upper(), city=city, district=district)
    try:
        organisation.full_clean()
    except ValidationError as exc:
        raise ValidationFailed(_("The organisation could not be registered."), details=exc.message_dict) from exc
    try:
        with transaction.atomic():
            organisation.save()
    except IntegrityError as exc:
        raise ValidationFailed(
            _("An organisation with this unified social credit code is already registered."),
            details={"uscc": [_("Already registered.")]},
        ) from exc
    if owner is not None:
        membership_add(user=owner, organisation=organisation, role=Role.OWNER)
    return organisation


@transaction.atomic
def membership_add(*, user: User, organisation: Organisation, role: str) -> Membership:
    membership = Membership(user=user, organisation=organisation, role=role)
    try:
        membership.full_clean()
    except ValidationError as exc:
        raise ValidationFailed(_("The membership could not be added."), details=exc.message_dict) from exc
    membership.save()
    return membership


def user_act_as(*, user: User, role: str, organisation: Organisation | None = None) -> Membership:
    """Return the membership that lets `user` act in `role`, or raise.

    Roles that touch other people's goods or data (appraiser, technician) can only be
    used once the user has switched on two-factor authentication."""
    memberships = Membership.objects.filter(user=user, role=role).select_related("organisation")
    if organisation is not None:
        memberships = memberships.filter(organisation=organisation)
    membership = memberships.order_by("pk").first()
    if membership is None:
        raise PermissionDenied(_("You do not hold the role “%(role)s”.") % {"role": Role(role).label})
    if role_requires_mfa(role) and not user_has_mfa(user=user):
        raise MFARequired(
            _("Switch on two-factor authentication before acting as %(role)s.") % {"role": Role(role).label}
        )
    return membership


@transaction.atomic
def user_update_profile(*, user: User, display_name: str, preferred_language: str) -> User:
    user.display_name = display_name.strip()
    user.preferred_language = preferred_language
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as exc:
        raise ValidationFailed(_("The profile could not be saved."), details=exc.message_dict) from exc
    user.save(update_fields=["display_name", "preferred_language"])
    return user
