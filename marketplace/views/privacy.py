"""Personal-information rights (PIPL): download your data, delete your account.

Both ask for the password again, so a device left signed in is not enough to take a
person's data or close their account. Wrong passwords count against allauth's
"reauthenticate" rate limit."""

from __future__ import annotations

import json

from allauth.core import ratelimit
from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from marketplace.errors import Conflict, PermissionDenied
from marketplace.models import User
from marketplace.services.privacy import account_delete, account_deletion_blockers, personal_data_export


class PasswordForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class AccountDeleteForm(PasswordForm):
    confirm = forms.BooleanField(
        label=gettext_lazy("I understand that my account is deleted for good and cannot be restored."),
        required=True,
    )


def _password_ok(request: HttpRequest, form: PasswordForm) -> bool:
    user: User = request.user  # type: ignore[assignment]
    if not ratelimit.consume(request, action="reauthenticate", user=user):
        form.add_error(None, _("Too many attempts. Wait a minute and try again."))
        return False
    if not user.check_password(form.cleaned_data["password"]):
        form.add_error("password", _("The password is not correct."))
        return False
    return True


@login_required
@require_http_methods(["GET", "POST"])
def privacy_overview(request: HttpRequest) -> HttpResponse:
    """What we hold and why; download a copy (POST, with the password)."""
    user: User = request.user  # type: ignore[assignment]
    form = PasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and _password_ok(request, form):
        data = personal_data_export(user=user)
        response = HttpResponse(
            json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
            content_type="application/json; charset=utf-8",
        )
        filename = f"xunhuan-personal-data-{timezone.localdate().isoformat()}.json"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "no-store"
        return response
    return render(
        request,
        "marketplace/privacy/overview.html",
        {"form": form, "blockers": account_deletion_blockers(user=user)},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def privacy_delete(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = AccountDeleteForm(request.POST or None)
    blockers = account_deletion_blockers(user=user)
    if request.method == "POST" and form.is_valid() and _password_ok(request, form):
        try:
            account_delete(user=user, password=form.cleaned_data["password"])
        except PermissionDenied as exc:
            form.add_error("password", exc.message)
        except Conflict as exc:
            blockers = exc.details.get("reasons", [exc.message])
        else:
            logout(request)
            messages.success(request, _("Your account was deleted. Thank you for giving things a second life."))
            return redirect("/")
    return render(
        request,
        "marketplace/privacy/delete.html",
        {"form": form, "blockers": blockers},
        status=400 if request.method == "POST" else 200,
    )
