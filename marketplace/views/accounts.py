"""Account pages. Thin: parse the form, call a service, render."""

from __future__ import annotations

from allauth.account.views import SignupView
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from marketplace.errors import ValidationFailed
from marketplace.forms import OrganisationRegisterForm, ProfileForm
from marketplace.models import Organisation, User
from marketplace.selectors import organisation_members, user_memberships
from marketplace.services.accounts import role_requires_mfa, user_has_mfa


@method_decorator(transaction.atomic, name="dispatch")
class AtomicSignupView(SignupView):
    """allauth's sign-up in one transaction: the user, their e-mail address and any
    organisation are saved together or not at all."""


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = ProfileForm(
        request.POST or None,
        initial={"display_name": user.display_name, "preferred_language": user.preferred_language},
    )
    if request.method == "POST" and form.is_valid():
        try:
            form.save(user)
        except ValidationFailed as exc:
            for field, errors in exc.details.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, _("Your profile was saved."))
            response = redirect("profile")
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, user.preferred_language, samesite="Lax")
            return response
    memberships = list(user_memberships(user=user))
    has_mfa = user_has_mfa(user=user)
    needs_mfa = user.is_staff or any(role_requires_mfa(m.role) for m in memberships)
    return render(
        request,
        "marketplace/profile.html",
        {"form": form, "memberships": memberships, "has_mfa": has_mfa, "needs_mfa": needs_mfa and not has_mfa},
    )


@login_required
@require_http_methods(["GET", "POST"])
def organisation_register(request: HttpRequest) -> HttpResponse:
    form = OrganisationRegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organisation = form.create_organisation(owner=request.user)  # type: ignore[arg-type]
        except ValidationFailed as exc:
            form.add_error(None, exc.message)
        else:
            assert organisation is not None  # noqa: S101 - the form requires the fields
            messages.success(request, _("The organisation was registered. Staff will verify it."))
            return redirect("organisation_detail", pk=organisation.pk)
    return render(request, "marketplace/organisation_register.html", {"form": form})


def organisation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = get_object_or_404(Organisation, pk=pk)
    is_member = request.user.is_authenticated and organisation.memberships.filter(user=request.user).exists()
    members = list(organisation_members(organisation=organisation)) if is_member else []
    return render(
        request,
        "marketplace/organisation_detail.html",
        {"organisation": organisation, "members": members, "is_member": is_member},
    )
