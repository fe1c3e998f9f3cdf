"""allauth hooks: e-mails leave through Celery once the transaction that caused them commits."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter

from marketplace.services.outbox import task_enqueue_on_commit
from marketplace.tasks import send_email_task


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
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
