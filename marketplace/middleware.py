"""Staff must have two-factor authentication before they can use either admin site."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _

from marketplace.services.accounts import user_has_mfa


class RequireStaffMFAMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and user.is_staff
            and request.path_info.startswith(settings.CSP_ADMIN_PATH_PREFIXES)
            and not user_has_mfa(user=user)
        ):
            messages.warning(request, _("Staff must switch on two-factor authentication before using the admin."))
            return HttpResponseRedirect(reverse("mfa_activate_totp"))
        return self.get_response(request)
