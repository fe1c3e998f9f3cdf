"""Keeps the page cache (marketplace.page_cache) true to erasure records: the verification
page depends on the `erasure` scope, and a certificate's listing shows its erasure badge.

Bound to model saves and deletes rather than to services, because many writes change what
the verification page shows (signing, review, binding, supersession, revocation, key
revocation, log checkpoints) and each of them saves one of these models; the one bulk
`update` (superseding the previous certificate of a listing) runs in the same transaction
as the save of the certificate that supersedes it. Bumps happen after commit."""

from __future__ import annotations

import uuid
from typing import Any

from django.apps import apps
from django.http import HttpRequest
from django.template.loader import render_to_string

from marketplace import page_cache
from wipe_cert.models import ErasureCertificate


def _on_certificate_saved(sender: Any, instance: ErasureCertificate, **kwargs: Any) -> None:
    scopes = [page_cache.ERASURE]
    if instance.listing_id is not None:
        scopes += [page_cache.LISTINGS, page_cache.listing_scope(instance.listing_id)]
    page_cache.bump_on_commit(*scopes)


def _on_record_saved(sender: Any, **kwargs: Any) -> None:
    page_cache.bump_on_commit(page_cache.ERASURE)


def connect() -> None:
    others = [model for model in apps.get_app_config("wipe_cert").get_models() if model is not ErasureCertificate]
    page_cache.connect_model_receivers([ErasureCertificate], "wipe_cert.page_cache", _on_certificate_saved)
    page_cache.connect_model_receivers(others, "wipe_cert.page_cache", _on_record_saved)


@page_cache.personal_part("erasure_identifiers", member_scopes=lambda arg: (page_cache.ERASURE,))
def erasure_identifiers(request: HttpRequest, arg: str, context: Any) -> str:
    """The verification page's device and media sections (argument: certificate id): full
    identifiers for those entitled to them, masked for everyone else."""
    from wipe_cert.views import identifiers_context

    certificate = context.get("certificate") if context is not None else None
    if isinstance(certificate, ErasureCertificate) and str(certificate.pk) == arg:
        data = {name: context.get(name) for name in ("device", "media", "can_download")}
    else:
        try:
            certificate = ErasureCertificate.objects.filter(pk=uuid.UUID(arg)).first()
        except ValueError:
            certificate = None
        if certificate is None:
            return ""
        data = identifiers_context(request, certificate)
    return render_to_string("wipe_cert/_identifiers.html", data, request=request)
