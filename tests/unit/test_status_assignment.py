"""Nothing but the lifecycle service assigns a listing's status."""

from __future__ import annotations

import re
from pathlib import Path

from marketplace.models import Listing

ROOT = Path(__file__).resolve().parents[2]
APPS = ("marketplace", "grading", "wipe_cert", "search", "cms", "config")
ALLOWED = {ROOT / "marketplace" / "services" / "lifecycle.py"}
PATTERNS = [
    re.compile(r"\blisting\w*\.status\s*=[^=]"),
    re.compile(r"Listing\.objects\b.*\.update\([^)]*\bstatus\s*="),
    re.compile(r"\bListing\([^)]*\bstatus\s*="),
    re.compile(r"Listing\.objects\.create\([^)]*\bstatus\s*="),
]


def test_only_the_lifecycle_service_assigns_listing_status():
    offenders = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if path in ALLOWED or "migrations" in path.parts:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if any(pattern.search(line) for pattern in PATTERNS):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_scan_would_catch_an_assignment():
    line = "    listing.status = ListingStatus.PUBLISHED"
    assert any(pattern.search(line) for pattern in PATTERNS)


def test_status_is_not_editable_in_forms():
    assert Listing._meta.get_field("status").editable is False
