"""Stripe is isolated in one module, and only one function assigns an order's status."""

from __future__ import annotations

import re
from pathlib import Path

from marketplace.models import Order

ROOT = Path(__file__).resolve().parents[2]
APPS = ("marketplace", "grading", "wipe_cert", "search", "cms", "config")
# Tests must not import stripe either: they talk to localstripe over HTTP.
EVERYWHERE = (*APPS, "tests", "bench")
GATEWAY = ROOT / "marketplace" / "payments" / "stripe_gateway.py"
IMPORTS_STRIPE = re.compile(r"^\s*(import\s+stripe\b|from\s+stripe\b)", re.MULTILINE)

ORDER_STATE = ROOT / "marketplace" / "services" / "order_state.py"
ASSIGNS_ORDER_STATUS = [
    re.compile(r"\border\w*\.status\s*=[^=]"),
    re.compile(r"Order\.objects\b.*\.update\([^)]*\bstatus\s*="),
    re.compile(r"\bOrder\([^)]*\bstatus\s*="),
    re.compile(r"Order\.objects\.create\([^)]*\bstatus\s*="),
]


def python_files(apps=APPS):
    for app in apps:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                yield path


def test_only_the_gateway_imports_stripe():
    importers = [
        str(p.relative_to(ROOT)) for p in python_files(EVERYWHERE) if IMPORTS_STRIPE.search(p.read_text("utf-8"))
    ]
    assert importers == ["marketplace/payments/stripe_gateway.py"]


def test_the_import_scan_would_catch_an_import():
    assert IMPORTS_STRIPE.search("from django import x\nimport stripe\n")
    assert IMPORTS_STRIPE.search("    from stripe import StripeClient")
    assert not IMPORTS_STRIPE.search("from marketplace.payments import stripe_gateway")


def test_only_the_order_state_module_assigns_order_status():
    offenders = []
    for path in python_files():
        if path == ORDER_STATE:
            continue
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            if any(pattern.search(line) for pattern in ASSIGNS_ORDER_STATUS):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_status_scan_would_catch_an_assignment():
    assert any(pattern.search("    order.status = OrderStatus.PAID") for pattern in ASSIGNS_ORDER_STATUS)


def test_order_status_is_not_editable_in_forms():
    assert Order._meta.get_field("status").editable is False
