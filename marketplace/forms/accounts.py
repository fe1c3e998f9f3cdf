"""Forms for the account pages. Validation rules live in the models and services; the
forms only collect input and show errors next to the right field."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from marketplace.errors import ValidationFailed
from marketplace.models import Organisation, OrganisationKind, User
from marketplace.models.accounts import USCC_REQUIRED_KINDS, normalise_uscc
from marketplace.services.accounts import organisation_create, user_update_profile


class OrganisationFieldsMixin(forms.Form):
    organisation_name = forms.CharField(label=_("Organisation name"), max_length=200, required=False)
    organisation_kind = forms.ChoiceField(
        label=_("Kind of organisation"), choices=[("", "—"), *OrganisationKind.choices], required=False
    )
    organisation_uscc = forms.CharField(
        label=_("Unified social credit code"),
        max_length=18,
        required=False,
        help_text=_(
            "统一社会信用代码: 18 characters, required for shops, appraisal institutions and erasure providers."
        ),
    )

    def clean_organisation_fields(self, cleaned: dict[str, Any], *, required: bool) -> None:
        name = (cleaned.get("organisation_name") or "").strip()
        kind = cleaned.get("organisation_kind") or ""
        code = (cleaned.get("organisation_uscc") or "").strip().upper()
        if not required and not (name or kind or code):
            return
        if not name:
            self.add_error("organisation_name", _("Give the organisation's name."))
        if not kind:
            self.add_error("organisation_kind", _("Choose the kind of organisation."))
        if code:
            try:
                code = normalise_uscc(code)
            except ValidationError as exc:
                self.add_error("organisation_uscc", exc)
                return
            if Organisation.objects.filter(uscc=code).exists():
                self.add_error(
                    "organisation_uscc",
                    _("An organisation with this unified social credit code is already registered."),
                )
                return
            cleaned["organisation_uscc"] = code
        elif kind in USCC_REQUIRED_KINDS:
            self.add_error("organisation_uscc", _("This kind of organisation needs its unified social credit code."))

    def create_organisation(self, owner: User) -> Organisation | None:
        data = self.cleaned_data
        if not data.get("organisation_name"):
            return None
        return organisation_create(
            name=data["organisation_name"],
            kind=data["organisation_kind"],
            uscc=data.get("organisation_uscc", ""),
            owner=owner,
        )


class SignupExtraForm(OrganisationFieldsMixin):
    """Extra fields on allauth's sign-up form. allauth validates the e-mail address and
    password; this adds a display name and, optionally, an organisation to register."""

    display_name = forms.CharField(
        label=_("Display name"),
        max_length=60,
        help_text=_("Shown to other users instead of your e-mail address."),
    )

    field_order = ("email", "display_name", "password1", "password2")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.clean_organisation_fields(cleaned, required=False)
        return cleaned

    def signup(self, request: HttpRequest, user: User) -> None:
        user.display_name = self.cleaned_data["display_name"].strip()
        user.preferred_language = getattr(request, "LANGUAGE_CODE", settings.LANGUAGE_CODE)
        user.save(update_fields=["display_name", "preferred_language"])
        try:
            self.create_organisation(owner=user)
        except ValidationFailed as exc:  # lost a race on the unique code; the view's transaction rolls back
            raise ValidationError(exc.message) from exc


class OrganisationRegisterForm(OrganisationFieldsMixin):
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.clean_organisation_fields(cleaned, required=True)
        return cleaned


class ProfileForm(forms.Form):
    display_name = forms.CharField(label=_("Display name"), max_length=60)
    preferred_language = forms.ChoiceField(label=_("Preferred language"), choices=settings.LANGUAGES)

    def save(self, user: User) -> User:
        return user_update_profile(
            user=user,
            display_name=self.cleaned_data["display_name"],
            preferred_language=self.cleaned_data["preferred_language"],
        )
