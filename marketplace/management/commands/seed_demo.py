"""Load the idempotent demo: the eight demo accounts of SPEC.md and their organisations.

Running it twice leaves the same data. Later features add their demo data through
`DEMO_SEEDERS` below, each a callable taking the command's `stdout`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from cms.demo import seed_cms_demo
from grading.demo import seed_grading_demo
from marketplace.city.demo import seed_city_demo
from marketplace.consignment.demo import seed_consignment_agreement_demo, seed_consignment_demo
from marketplace.credit.demo import seed_credit_demo
from marketplace.demo import seed_marketplace_demo, seed_order_demo
from marketplace.models import Membership, Organisation, OrganisationKind, Role, User
from wipe_cert.demo import seed_erasure_demo

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

# Later features append callables here (e.g. listings, rule sets, CMS pages).
DEMO_SEEDERS: list[Any] = [
    seed_consignment_agreement_demo,  # before the shop's listings that name its consignor
    seed_marketplace_demo,
    seed_erasure_demo,
    seed_grading_demo,
    seed_cms_demo,
    seed_order_demo,
    seed_consignment_demo,
    seed_credit_demo,
    seed_city_demo,  # last: its statistics rollup covers the orders seeded before it
]


def ensure_totp(user: User) -> None:
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, DEMO_TOTP_SECRET)
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.RECOVERY_CODES).exists():
        RecoveryCodes.activate(user)


class Command(BaseCommand):
    help = "Create or refresh the demo accounts, organisations and data (idempotent)."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
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

        for seeder in DEMO_SEEDERS:
            seeder(self.stdout)

        self.stdout.write(self.style.SUCCESS("Demo data ready. Log in at http://127.0.0.1:8000/accounts/login/"))
        self.stdout.write(f"Password for every demo account: {DEMO_PASSWORD}")
        self.stdout.write(f"TOTP secret for the 2FA accounts (admin, appraiser, tech): {DEMO_TOTP_SECRET}")
        for account in ACCOUNTS:
            flag = "  [2FA]" if account.mfa else ""
            self.stdout.write(f"  {account.email:<24} {account.note}{flag}")
