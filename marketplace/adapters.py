"""allauth hooks: e-mails leave through Celery once the transaction that caused them commits;
the headless login answers 429 with Retry-After once failed attempts hit the rate limit."""

from __future__ import annotations

import math
import time
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from allauth.core import ratelimit
from allauth.core.exceptions import ImmediateHttpResponse
from django.contrib.sites.shortcuts import get_current_site
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from marketplace.services.outbox import task_enqueue_on_commit
from marketplace.tasks import send_email_task


class AccountAdapter(DefaultAccountAdapter):
    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        """Too many failed logins: the headless API answers 429 with Retry-After (allauth
        itself answers 400 `too_many_login_attempts`); the login page keeps its form error."""
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError:
            if not hasattr(getattr(request, "allauth", None), "headless"):
                raise
            response = ratelimit.respond_429(request)
            response["Retry-After"] = str(self._login_retry_after(request, **credentials))
            raise ImmediateHttpResponse(response) from None

    def _login_retry_after(self, request: HttpRequest, **credentials: Any) -> int:
        """Seconds until the exhausted `login_failed` limits let one more attempt through."""
        # allauth keeps, per limit, the times of the recent attempts (newest first) in the cache.
        from allauth.core.internal.ratelimit import get_cache_key, get_rates

        key = self._get_login_attempts_cache_key(request, **credentials)
        now = time.time()
        wait = 1.0
        for rate in get_rates(app="allauth.account", action="login_failed"):
            cache_key = get_cache_key(request, app="allauth.account", action="login_failed", rate=rate, key=key)
            history = cache.get(cache_key, [])
            if len(history) >= rate.amount:
                wait = max(wait, history[rate.amount - 1] + rate.duration - now)
        return math.ceil(wait)

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        # What allauth's own send_mail puts in every e-mail's context: without current_site
        # the greeting and the footer lose the site's name.
        request = allauth_context.request
        context = {"request": request, "email": email, "current_site": get_current_site(request), **context}
        message = self.render_mail(template_prefix, email, context)
        html = next(
            (content for content, mimetype in getattr(message, "alternatives", []) if mimetype == "text/html"), None
        )
        payload = {
            "subject": str(message.subject),
            "body": str(message.body),
            "from_email": str(message.from_email),
            "to": list(message.to),
            "html": html,
        }
        # Kept in the outbox if the broker is down, so a sign-up never fails on it.
        task_enqueue_on_commit(send_email_task, **payload)
