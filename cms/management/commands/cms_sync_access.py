"""Refresh every organisation's Wagtail group, image collection, page permissions and
members (run after memberships change)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from cms.services.access import cms_access_sync_all


class Command(BaseCommand):
    help = "Give organisation members access to their own community pages in the Wagtail admin."

    def handle(self, *args: Any, **options: Any) -> None:
        count = cms_access_sync_all()
        self.stdout.write(self.style.SUCCESS(f"CMS access refreshed for {count} organisations."))
