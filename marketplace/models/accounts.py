"""People and the organisations they act for."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError as StdnumValidationError


class EmailUserManager(UserManager["User"]):
    """Users log in with their e-mail address; there is no username."""

    use_in_migrations = True

    def _create_user_object(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        return user

    def create_user(  # type: ignore[override]
        self, email: str, password: str | None = None, **extra: Any
    ) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        user = self._create_user_object(email, password, **extra)
        user.save(using=self._db)
        return user

    def create_superuser(  # type: ignore[override]
        self, email: str, password: str | None = None, **extra: Any
    ) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        user = self._create_user_object(email, password, **extra)
        user.save(using=self._db)
        return user


class User(AbstractUser):
    username = None  # type: ignore[assignment]
    email = models.EmailField(_("e-mail address"), unique=True)
    display_name = models.CharField(_("display name"), max_length=60, blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects = EmailUserManager()  # type: ignore[misc]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.email

    @property
    def public_name(self) -> str:
        """What other users see: never the e-mail address."""
        return self.display_name or _("User %(id)s") % {"id": self.pk}


class OrganisationKind(models.TextChoices):
    CONSIGNMENT_SHOP = "consignment_shop", _("Consignment shop")
    APPRAISAL_INSTITUTION = "appraisal_institution", _("Appraisal institution")
    ERASURE_PROVIDER = "erasure_provider", _("Erasure provider")
    SCHOOL = "school", _("School")
    EVENT_ORGANISER = "event_organiser", _("Event organiser")


# Businesses must be registered legal entities; schools and community event groups
# (residents' committees, volunteer groups) may have no code of their own.
USCC_REQUIRED_KINDS = frozenset(
    {
        OrganisationKind.CONSIGNMENT_SHOP,
        OrganisationKind.APPRAISAL_INSTITUTION,
        OrganisationKind.ERASURE_PROVIDER,
    }
)


def normalise_uscc(value: str) -> str:
    """Validate a unified social credit code (统一社会信用代码) and return its compact form."""
    try:
        return str(uscc.validate(value))
    except StdnumValidationError as exc:
        raise ValidationError(
            _("“%(value)s” is not a valid unified social credit code (18 characters with a check character)."),
            code="invalid_uscc",
            params={"value": value},
        ) from exc


class Organisation(models.Model):
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=32, choices=OrganisationKind.choices)
    uscc = models.CharField(
        _("unified social credit code"),
        max_length=18,
        blank=True,
        help_text=_("统一社会信用代码, 18 characters."),
    )
    city = models.CharField(_("city"), max_length=60, blank=True)
    district = models.CharField(_("district"), max_length=60, blank=True)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering: ClassVar[list[str]] = ["name"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["uscc"], condition=~Q(uscc=""), name="organisation_uscc_unique"),
            models.CheckConstraint(
                condition=~Q(kind__in=sorted(USCC_REQUIRED_KINDS)) | ~Q(uscc=""),
                name="organisation_uscc_required_for_kind",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.uscc:
            self.uscc = normalise_uscc(self.uscc)
        elif self.kind in USCC_REQUIRED_KINDS:
            raise ValidationError(
                {"uscc": _("A %(kind)s needs its unified social credit code.") % {"kind": self.get_kind_display()}}
            )

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    STAFF = "staff", _("Staff")
    APPRAISER = "appraiser", _("Appraiser")
    TECHNICIAN = "technician", _("Erasure technician")
    COORDINATOR = "coordinator", _("School coordinator")
    ORGANISER = "organiser", _("Event organiser")


# Which roles make sense in which kind of organisation.
ROLES_BY_KIND: dict[str, frozenset[str]] = {
    OrganisationKind.CONSIGNMENT_SHOP: frozenset({Role.OWNER, Role.STAFF, Role.APPRAISER}),
    OrganisationKind.APPRAISAL_INSTITUTION: frozenset({Role.OWNER, Role.STAFF, Role.APPRAISER}),
    OrganisationKind.ERASURE_PROVIDER: frozenset({Role.OWNER, Role.STAFF, Role.TECHNICIAN}),
    OrganisationKind.SCHOOL: frozenset({Role.OWNER, Role.STAFF, Role.COORDINATOR}),
    OrganisationKind.EVENT_ORGANISER: frozenset({Role.OWNER, Role.STAFF, Role.ORGANISER}),
}


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user"))
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("organisation")
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["user", "organisation", "role"], name="membership_unique_role"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.organisation} · {self.get_role_display()}"

    def clean(self) -> None:
        allowed = ROLES_BY_KIND.get(self.organisation.kind, frozenset())
        if self.role not in allowed:
            raise ValidationError(
                {"role": _("This role does not exist in a %(kind)s.") % {"kind": self.organisation.get_kind_display()}}
            )
