"""The user's in-app notifications."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from marketplace.models import User
from marketplace.selectors import user_notifications
from marketplace.services.notifications import notification_link_label, notifications_mark_all_read

NOTIFICATIONS_PER_PAGE = 30


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    page = Paginator(user_notifications(user=user), NOTIFICATIONS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [(notification, notification_link_label(notification.kind)) for notification in page.object_list]
    return render(request, "marketplace/notifications.html", {"page": page, "rows": rows})


@login_required
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if notifications_mark_all_read(user=user):
        messages.success(request, _("All notifications are marked as read."))
    return redirect("notifications")
