"""Demo grading data for `manage.py seed_demo`: a verified credential for the demo
appraiser, self-assessments of the demo books and furniture, certified appraisals of the
demo vehicle and electronics, and items left waiting in the appraisers' queue (the iPhone
and the Ford) for people trying the demo and for the browser test.

Runs after the marketplace seeder. With the grade gate switched on, the listings that
seeder meant to publish wait for a grade; once graded here they are published (those that
still need an erasure certificate wait for it). Everything goes through the services and
is keyed so that a second run adds nothing: the credential by issuer and number, grades
by "has a current appraisal", publication by status."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image, ImageDraw

from grading.models import COUNTED_REVIEW, Appraisal, AppraisalRequest, AppraisalRequestStatus, AppraiserCredential
from grading.services import (
    appraisal_claim,
    appraisal_request_create,
    appraisal_submit,
    credential_verify,
    self_assessment_submit,
)
from marketplace.demo import SELLER_EMAIL, SHOP_EMAIL, STAFF_EMAIL, demo_listings, seed_open_report
from marketplace.models import Listing, ListingStatus, Organisation, OrganisationKind, Role, User
from marketplace.services.listings import PUBLISHABLE_FROM, PublicationBlocked, listing_publish

APPRAISER_EMAIL = "appraiser@example.com"
CREDENTIAL_ISSUER = "中国旧货业协会"
CREDENTIAL_NUMBER = "JD-SH-2026-0815"
CREDENTIAL_CATEGORIES = ["electronics", "vehicles"]

_BOOK = {
    "condition": "fine",
    "ex_library": False,
    "book_club_edition": False,
    "dust_jacket_missing": False,
    "missing_pages": False,
    "mould": False,
    "water_damage": False,
}
_FURNITURE = {
    "structurally_sound": True,
    "recalled_model": False,
    "part_faults": [],
    "overall": "light_marks",
    "surface_defects": [],
}
_CAR = {
    "frame_defects": [],
    "flood_damage": False,
    "fire_damage": False,
    "body_defects": [],
    "oil_leak": "none",
    "coolant": "normal",
    "belts_hoses": "good",
    "battery_terminals": "clean",
    "wiring": "intact",
    "engine_mounts": "ok",
    "warning_lights": "none",
    "seats": "good",
    "airbags": "intact",
    "air_conditioning": "works",
    "windows_locks_faulty": False,
    "starting": "normal",
    "idle": "stable",
    "exhaust_smoke": "normal",
    "instrument_faults": "normal",
    "engine_noise": "none",
    "acceleration": "normal",
    "braking": "normal",
    "steering": "normal",
    "shifting": "smooth",
    "suspension_noise": "none",
    "underbody_rust": "none",
    "fluid_leaks": "none",
    "exhaust_system": "ok",
    "suspension_parts": "ok",
    "tyres": "good",
}
_MOBILE = {
    "imei_blacklisted": False,
    "imei_altered": False,
    "activation_lock_on": False,
    "frp_on": False,
    "mdm_enrolled": False,
    "powers_on": True,
    "battery_swollen": False,
    "liquid_damage": False,
    "battery_health": 91,
    "faults": [],
    "body_marks": "invisible_20cm",
    "screen_scratches": "none",
    "screen_cracked": False,
}
_GENERAL = {"powers_on": True, "account_lock_on": False, "faults": [], "marks": "invisible_20cm"}


@dataclass(frozen=True)
class DemoGrade:
    title: str  # the demo listing's title (marketplace.demo)
    answers: Mapping[str, Any]
    certified: bool = False


DEMO_GRADES: tuple[DemoGrade, ...] = (
    # Books and furniture: self-assessed by their sellers.
    DemoGrade("红楼梦 人民文学出版社 1982", {**_BOOK, "condition": "very_good"}),
    DemoGrade("百年孤独 南海出版公司 精装", _BOOK),
    DemoGrade("三体 重庆出版社", {**_BOOK, "condition": "good"}),
    DemoGrade(
        "Introduction to Algorithms, 3rd edition",
        {**_BOOK, "condition": "very_good", "highlighted_pages": 8, "edition_matches_isbn": True},
    ),
    DemoGrade("Plenum Press 物理专著 英文原版", {**_BOOK, "condition": "good", "dust_jacket_missing": True}),
    DemoGrade("宜家 MALM 五斗柜 白色", {**_FURNITURE, "tip_over_restraint_included": True}),
    DemoGrade(
        "北欧实木餐桌 1.4 米 配四把椅子",
        {**_FURNITURE, "surface_defects": [{"position": "top", "defect": "scratch", "severity": "minor"}]},
    ),
    DemoGrade(
        "布艺三人沙发 浅灰色",
        {**_FURNITURE, "overall": "visible_wear", "flammability_label_photo": True, "hygiene_declaration": True},
    ),
    DemoGrade("榆木官帽椅 一对", _FURNITURE),
    # Vehicles and electronics: certified appraisals by the demo appraiser.
    DemoGrade(
        "大众 朗逸 2019款 1.5L 自动",
        {**_CAR, "body_defects": [{"position": "bumper_rear", "defect": "HH", "severity": "1"}], "tyres": "worn"},
        certified=True,
    ),
    DemoGrade("索尼 A7 III 全画幅微单 机身", _GENERAL, certified=True),
    DemoGrade("华为 MatePad 11 平板 128GB WiFi版", _MOBILE, certified=True),
    DemoGrade("iPhone 12 mini 128GB 白色 手机", _MOBILE, certified=True),
    DemoGrade("任天堂 Switch OLED 白色 双手柄", {**_GENERAL, "marks": "invisible_50cm"}, certified=True),
    DemoGrade(
        "ThinkPad X1 Carbon Gen 9 i7 16GB 512GB",
        {**_MOBILE, "battery_health": 86, "body_marks": "visible", "screen_scratches": "light"},
        certified=True,
    ),
    # Graded, waiting only for the erasure certificate the shipped sample log gives it.
    DemoGrade(
        "ThinkPad T480 i5 旧笔记本 硬盘自备",
        {**_MOBILE, "battery_health": 78, "body_marks": "visible", "screen_scratches": "light"},
        certified=True,
    ),
)
# Left for the appraiser: the iPhone (the browser test claims it) and the Ford that waits
# for an appraiser to come and inspect it.
DEMO_WAITING: tuple[str, ...] = ("iPhone 13 128GB 蓝色", "福特 福克斯 2018款 1.5L 自动")


def _credential_document() -> bytes:
    image = Image.new("RGB", (900, 600), (246, 248, 247))
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 880, 580), outline=(31, 122, 77), width=6)
    draw.text((60, 80), "Appraiser credential (Xunhuan demo)", fill=(29, 35, 32))
    draw.text((60, 140), f"No. {CREDENTIAL_NUMBER}", fill=(29, 35, 32))
    draw.text((60, 200), "Categories: electronics, vehicles", fill=(29, 35, 32))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def seed_credential() -> AppraiserCredential:
    """A verified credential for the demo appraiser, valid this year and next."""
    appraiser = User.objects.get(email=APPRAISER_EMAIL)
    institution = Organisation.objects.filter(
        kind=OrganisationKind.APPRAISAL_INSTITUTION, memberships__user=appraiser, memberships__role=Role.APPRAISER
    ).first()
    today = timezone.localdate()
    window = {"valid_from": dt.date(today.year, 1, 1), "valid_to": dt.date(today.year + 1, 12, 31)}
    credential = AppraiserCredential.objects.filter(issuer=CREDENTIAL_ISSUER, number=CREDENTIAL_NUMBER).first()
    if credential is None:
        credential = AppraiserCredential(
            user=appraiser,
            issuer=CREDENTIAL_ISSUER,
            number=CREDENTIAL_NUMBER,
            categories=CREDENTIAL_CATEGORIES,
            organisation=institution,
            **window,
        )
        credential.document.save("demo-credential.png", ContentFile(_credential_document()), save=False)
        credential.save()
    elif credential.valid_to < today:
        # A demo seeded in an earlier year: keep the credential usable.
        AppraiserCredential.objects.filter(pk=credential.pk).update(**window)
    if credential.verified_at is None:
        credential = credential_verify(staff=User.objects.get(email=STAFF_EMAIL), credential_id=credential.pk)
    return credential


def _demo_listings() -> dict[str, Listing]:
    seller = User.objects.get(email=SELLER_EMAIL)
    shop = Organisation.objects.filter(
        kind=OrganisationKind.CONSIGNMENT_SHOP, memberships__user__email=SHOP_EMAIL, memberships__role=Role.OWNER
    ).first()
    found: dict[str, Listing] = {}
    for spec in demo_listings():
        owner = {"seller_organisation": shop} if spec.by_shop else {"seller_user": seller}
        listing = Listing.objects.filter(title=spec.title, **owner).first()
        if listing is not None:
            found[spec.title] = listing
    return found


def _actor(listing: Listing) -> User:
    actor = listing.seller_user or listing.created_by
    assert actor is not None  # noqa: S101 - every listing has a creator
    return actor


def _appraise(listing: Listing, answers: Mapping[str, Any], appraiser: User) -> None:
    appraisal_request_create(actor=None, listing_id=listing.pk)
    appraisal_claim(appraiser=appraiser, listing_id=listing.pk)
    appraisal_submit(appraiser=appraiser, listing_id=listing.pk, answers=answers)


def seed_grades(listings: Mapping[str, Listing]) -> tuple[int, int]:
    """Grade every demo listing that has no current grade yet; returns (self, certified) new."""
    appraiser = User.objects.get(email=APPRAISER_EMAIL)
    graded = set(
        Appraisal.objects.filter(
            listing__in=listings.values(), superseded_at__isnull=True, review_status__in=COUNTED_REVIEW
        ).values_list("listing_id", flat=True)
    )
    made_self = made_certified = 0
    for spec in DEMO_GRADES:
        listing = listings.get(spec.title)
        if listing is None or listing.pk in graded:
            continue
        if spec.certified:
            _appraise(listing, spec.answers, appraiser)
            made_certified += 1
        else:
            self_assessment_submit(actor=_actor(listing), listing_id=listing.pk, answers=spec.answers)
            made_self += 1
    return made_self, made_certified


def seed_publications(listings: Mapping[str, Listing]) -> int:
    """Publish again what the marketplace demo meant to publish, now that it is graded
    (certified appraisals already carried on the publication their sellers asked for);
    returns how many demo listings are published."""
    for spec in demo_listings():
        listing = listings.get(spec.title)
        if listing is None or spec.target != ListingStatus.PUBLISHED:
            continue
        listing.refresh_from_db()
        if listing.status not in PUBLISHABLE_FROM:
            continue
        try:
            listing_publish(actor=_actor(listing), listing_id=listing.pk)
        except PublicationBlocked:
            continue  # e.g. a device that still needs its erasure certificate
    return Listing.objects.filter(
        pk__in=[listing.pk for listing in listings.values()], status=ListingStatus.PUBLISHED
    ).count()


def seed_waiting(listings: Mapping[str, Listing]) -> int:
    """Items left in the appraisers' queue, open and unclaimed."""
    for title in DEMO_WAITING:
        listing = listings.get(title)
        if listing is not None and not Appraisal.objects.filter(listing=listing).exists():
            appraisal_request_create(actor=None, listing_id=listing.pk)
    return AppraisalRequest.objects.filter(status=AppraisalRequestStatus.OPEN).count()


def seed_grading_demo(stdout: TextIO) -> None:
    """Seed the grading demo; called by `manage.py seed_demo` after the marketplace demo."""
    credential = seed_credential()
    listings = _demo_listings()
    made_self, made_certified = seed_grades(listings)
    published = seed_publications(listings)
    waiting = seed_waiting(listings)
    # The buyer's report on the camera needs the camera published; it is now.
    seed_open_report(list(listings.values()))
    stdout.write(
        f"Grading demo: credential {credential.issuer} {credential.number} for {APPRAISER_EMAIL}; "
        f"{made_self} new self-assessments, {made_certified} new certified appraisals, {published} demo listings "
        f"published, {waiting} items waiting in the appraisal queue."
    )


def seed_consignment_grades_demo(stdout: TextIO) -> None:
    """The consignment demo's books, graded by the shop that took them in and put on sale
    (runs after seed_consignment_demo: marketplace's consignment app knows no grading)."""
    waiting = Listing.objects.filter(
        category="books",
        consignment_item__isnull=False,
        seller_organisation__memberships__user__email=SHOP_EMAIL,
        status__in=PUBLISHABLE_FROM,
    ).distinct()
    graded = 0
    for listing in waiting:
        actor = _actor(listing)
        if not Appraisal.objects.filter(listing=listing, superseded_at__isnull=True).exists():
            self_assessment_submit(actor=actor, listing_id=listing.pk, answers=_BOOK)
            graded += 1
        with contextlib.suppress(PublicationBlocked):
            listing_publish(actor=actor, listing_id=listing.pk)
    if graded:
        stdout.write(f"Consigned books graded by the shop: {graded}.\n")
