from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.core.cache import cache
from django.core.management import call_command

from marketplace.management.commands.seed_demo import DEMO_PASSWORD, DEMO_TOTP_SECRET
from marketplace.models import Membership, Organisation, User

pytestmark = pytest.mark.django_db

DEMO_EMAILS = {
    "admin@example.com",
    "seller@example.com",
    "buyer@example.com",
    "appraiser@example.com",
    "tech@example.com",
    "shop@example.com",
    "school@example.com",
    "organizer@example.com",
}


def counts() -> tuple[int, ...]:
    return (
        User.objects.count(),
        Organisation.objects.count(),
        Membership.objects.count(),
        EmailAddress.objects.count(),
        Authenticator.objects.count(),
    )


def test_seed_demo_is_idempotent_and_creates_the_demo_accounts(capsys):
    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")
    assert counts() == first
    assert set(User.objects.values_list("email", flat=True)) == DEMO_EMAILS
    out = capsys.readouterr().out
    assert DEMO_PASSWORD in out and DEMO_TOTP_SECRET in out
    for email in DEMO_EMAILS:
        user = User.objects.get(email=email)
        assert user.check_password(DEMO_PASSWORD)
        assert EmailAddress.objects.get(user=user).verified


def test_demo_2fa_accounts_accept_codes_from_the_documented_secret():
    call_command("seed_demo")
    counters = list(yield_hotp_counters_from_time())
    counter = counters[len(counters) // 2]
    code = format_hotp_value(hotp_value(DEMO_TOTP_SECRET, counter))
    for email in ("admin@example.com", "appraiser@example.com", "tech@example.com"):
        authenticator = Authenticator.objects.get(user__email=email, type=Authenticator.Type.TOTP)
        assert TOTP(authenticator).validate_code(code)
    assert not Authenticator.objects.filter(user__email="seller@example.com").exists()


def test_demo_totp_command_prints_a_code_the_demo_accounts_accept(capsys):
    call_command("seed_demo")
    cache.clear()  # an earlier test may have used this period's code (replay protection)
    capsys.readouterr()
    call_command("demo_totp")
    code = capsys.readouterr().out.strip()
    authenticator = Authenticator.objects.get(user__email="appraiser@example.com", type=Authenticator.Type.TOTP)
    assert len(code) == 6
    assert TOTP(authenticator).validate_code(code)
