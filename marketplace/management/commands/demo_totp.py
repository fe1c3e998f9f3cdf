"""Print the current six-digit code for the documented demo TOTP secret."""

from __future__ import annotations

from typing import Any

from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core.management.base import BaseCommand
from django.utils import timezone

from marketplace.management.commands.seed_demo import DEMO_TOTP_SECRET

TOTP_PERIOD = 30


class Command(BaseCommand):
    help = "Print the current TOTP code of the demo 2FA accounts (admin, appraiser, tech)."

    def handle(self, *args: Any, **options: Any) -> None:
        counter = int(timezone.now().timestamp()) // TOTP_PERIOD
        self.stdout.write(format_hotp_value(hotp_value(DEMO_TOTP_SECRET, counter)))
