"""Public views of community pages. Thin: parse a form, call a service or selector,
render or redirect. Routed pages (flea markets, consignment events, book swaps) delegate
their sub-URLs here."""

from __future__ import annotations

from django.contrib import messages
from django.forms import BaseForm
from django.http import HttpRequest

from marketplace.errors import DomainError


def show_error(request: HttpRequest, exc: DomainError, form: BaseForm | None = None) -> None:
    """Field errors go on the form when it has those fields; the message is flashed."""
    placed = False
    if form is not None:
        for name, field_messages in (exc.details.get("fields") or {}).items():
            if name in form.fields:
                for message in field_messages:
                    form.add_error(name, message)
                placed = True
    if not placed:
        messages.error(request, exc.message)
