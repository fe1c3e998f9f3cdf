"""Load the idempotent demo: the eight demo accounts of SPEC.md and their organisations.

Running it twice leaves the same data. Each app adds its demo data through the steps its
AppConfig declares (`demo_seeders`, run in order by marketplace.demo_registry), each a
callable taking the command's `stdout`; this command names no app.

Quiet by default: the e-mails and the task and page logs of the seeding are dropped
(`-v 2` shows them), the notifications it caused are marked read, and it ends with the
logins and the address to open (`--url`, else WAGTAILADMIN_BASE_URL, which `make run`
sets from PORT)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from marketplace.demo_registry import demo_seeders
from marketplace.models import Membership, Notification, Organisation, OrganisationKind, Role, User

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - documented demo credential
# One fixed, documented base32 TOTP secret for every demo account that needs 2FA.
DEMO_TOTP_SECRET = "XUNHUANDEMOTOTPSECRETKEYABCDEFGH"  # noqa: S105


@dataclass(frozen=True)
class DemoOrganisation:
    key: str
    name: str
    kind: str
    uscc: str
    city: str = "上海市"
    district: str = "徐汇区"


@dataclass(frozen=True)
class DemoAccount:
    email: str
    display_name: str
    staff: bool = False
    superuser: bool = False
    mfa: bool = False
    memberships: tuple[tuple[str, str], ...] = ()
    note: str = ""


ORGANISATIONS = (
    DemoOrganisation(
        "shop", "循环寄卖店 (Xunhuan Consignment)", OrganisationKind.CONSIGNMENT_SHOP, "91310000MA1K000019"
    ),
    DemoOrganisation(
        "institution", "申城二手鉴定评估中心", OrganisationKind.APPRAISAL_INSTITUTION, "91310000MA1K00002C"
    ),
    DemoOrganisation("provider", "净数据清除服务有限公司", OrganisationKind.ERASURE_PROVIDER, "91310000MA1K00003F"),
    DemoOrganisation("school", "徐汇实验小学", OrganisationKind.SCHOOL, "12310000MB00000019"),
    DemoOrganisation("organiser", "徐汇社区跳蚤市场志愿队", OrganisationKind.EVENT_ORGANISER, "51310000MJ0000001N"),
)

ACCOUNTS = (
    DemoAccount("admin@example.com", "平台管理员 Admin", staff=True, superuser=True, mfa=True, note="staff, moderator"),
    DemoAccount("seller@example.com", "王卖家 Seller", note="citizen seller"),
    DemoAccount("buyer@example.com", "李买家 Buyer", note="citizen buyer"),
    DemoAccount(
        "appraiser@example.com",
        "张鉴定师 Appraiser",
        mfa=True,
        memberships=(("institution", Role.APPRAISER),),
        note="certified appraiser",
    ),
    DemoAccount(
        "tech@example.com",
        "赵技术员 Technician",
        mfa=True,
        memberships=(("provider", Role.TECHNICIAN),),
        note="erasure technician",
    ),
    DemoAccount(
        "shop@example.com",
        "陈店长 Shop",
        memberships=(("shop", Role.OWNER), ("shop", Role.STAFF)),
        note="consignment shop owner",
    ),
    DemoAccount(
        "school@example.com",
        "刘老师 School",
        memberships=(("school", Role.OWNER), ("school", Role.COORDINATOR)),
        note="school book-swap coordinator",
    ),
    DemoAccount(
        "organizer@example.com",
        "周组织者 Organiser",
        memberships=(("organiser", Role.OWNER), ("organiser", Role.ORGANISER)),
        note="flea-market organiser",
    ),
)


def ensure_totp(user: User) -> None:
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, DEMO_TOTP_SECRET)
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.RECOVERY_CODES).exists():
        RecoveryCodes.activate(user)


@contextmanager
def quiet() -> Iterator[None]:
    """No e-mails sent and no log lines below ERROR while the demo is seeded."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
            yield
    finally:
        logging.disable(previous)


def mark_seeding_read(*, since: Any) -> int:
    """The demo users start with an empty bell: what the seeding told them is marked read."""
    return Notification.objects.filter(
        user__email__in=[account.email for account in ACCOUNTS], created_at__gte=since, read_at__isnull=True
    ).update(read_at=timezone.now())


class Command(BaseCommand):
    help = "Create or refresh the demo accounts, organisations and data (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url",
            default="",
            help="Where the site will be served, for the links printed and e-mailed "
            "(default: WAGTAILADMIN_BASE_URL; `make run PORT=8123` sets it).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        url = (options["url"] or settings.WAGTAILADMIN_BASE_URL).rstrip("/")
        started = timezone.now()
        with quiet() if options["verbosity"] < 2 else nullcontext(), override_settings(WAGTAILADMIN_BASE_URL=url):
            with transaction.atomic():
                self.seed()
            # Work queued on commit (e-mails, credit, the search index) has run by now.
            mark_seeding_read(since=started)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Open {url}/ and log in at {url}/accounts/login/"))
        self.stdout.write(f"Password for every demo account: {DEMO_PASSWORD}")
        self.stdout.write(f"TOTP secret for the 2FA accounts: {DEMO_TOTP_SECRET} (or: manage.py demo_totp)")
        for account in ACCOUNTS:
            flag = "  [2FA]" if account.mfa else ""
            self.stdout.write(f"  {account.email:<24} {account.note}{flag}")
        self.stdout.write(f"Staff admin: {url}/cms-admin/ (admin@example.com)")

    def seed(self) -> None:
        now = timezone.now()
        organisations: dict[str, Organisation] = {}
        for spec in ORGANISATIONS:
            organisation, _ = Organisation.objects.update_or_create(
                uscc=spec.uscc,
                defaults={
                    "name": spec.name,
                    "kind": spec.kind,
                    "city": spec.city,
                    "district": spec.district,
                },
            )
            if organisation.verified_at is None:
                organisation.verified_at = now
                organisation.save(update_fields=["verified_at"])
            organisations[spec.key] = organisation

        for account in ACCOUNTS:
            user, _created = User.objects.get_or_create(email=account.email)
            user.display_name = account.display_name
            user.is_staff = account.staff
            user.is_superuser = account.superuser
            user.is_active = True
            user.set_password(DEMO_PASSWORD)
            user.save()
            EmailAddress.objects.update_or_create(
                user=user, email=account.email, defaults={"verified": True, "primary": True}
            )
            for org_key, role in account.memberships:
                Membership.objects.get_or_create(user=user, organisation=organisations[org_key], role=role)
            if account.mfa:
                ensure_totp(user)

        for seeder in demo_seeders():
            seeder(self.stdout)
