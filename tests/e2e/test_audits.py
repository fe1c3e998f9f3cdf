"""Audits in a real browser: Lighthouse 12 (mobile, its default form factor) scores the
public pages a visitor lands on, and axe-core checks those pages plus the sell form and
the buy step at a phone's and a desktop's size. The tools are the npm packages pinned in
package.json (`npm ci`); reports go to test-artifacts/lighthouse/.

Run just these: `pytest tests/e2e/test_audits.py`."""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from cms.models import FleaMarketPage
from marketplace.management.commands.seed_demo import DEMO_PASSWORD
from marketplace.models import Listing, ListingStatus
from tests.e2e.conftest import CHROMIUM
from wipe_cert.models import CertificateStatus, ErasureCertificate

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ROOT = Path(__file__).resolve().parents[2]
LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
REPORTS = ROOT / "test-artifacts" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
MINIMUM = 0.98
LIGHTHOUSE_FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --disable-sync"
)
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}
BLOCKING_IMPACTS = {"serious", "critical"}


def need_node_tools() -> None:
    missing = [str(path.relative_to(ROOT)) for path in (LIGHTHOUSE, AXE) if not path.exists()]
    if missing:
        message = f"{', '.join(missing)} missing: run `npm ci --no-audit --no-fund` (package-lock.json)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    if not Path(CHROMIUM).exists():
        pytest.skip(f"needs Debian's chromium at {CHROMIUM}")


@pytest.fixture
def demo() -> dict[str, str]:
    """The demo data, and the paths of one page of each kind audited."""
    call_command("seed_demo")
    listing = (
        Listing.objects.filter(
            status=ListingStatus.PUBLISHED, seller_user__email="seller@example.com", photos__isnull=False
        )
        .order_by("pk")
        .first()
    )
    certificate = ErasureCertificate.objects.filter(status=CertificateStatus.ACCEPTED).order_by("pk").first()
    assert listing is not None and certificate is not None, "the demo has a published listing and a certificate"
    return {
        "home": "/",
        "search": f"/search/?q={quote('手机')}",
        "listing": f"/listings/{listing.pk}/",
        "erasure-verify": f"/verify/{certificate.pk}/",
        "flea-market": FleaMarketPage.objects.get().url,
    }


def loopback(live_server) -> str:
    """The live server's address as 127.0.0.1 (it listens on localhost's IPv4 address)."""
    return live_server.url.replace("://localhost:", "://127.0.0.1:")


# --- Lighthouse ------------------------------------------------------------------------


@dataclass
class LighthouseRun:
    scores: dict[str, float]
    failing: list[str]  # "category: audit id (score) title", audits that lost points
    console_errors: list[str]

    @classmethod
    def from_report(cls, report: dict) -> LighthouseRun:
        audits = report["audits"]
        scores = {key: report["categories"][key]["score"] or 0.0 for key in CATEGORIES}
        failing = []
        for key in CATEGORIES:
            for ref in report["categories"][key]["auditRefs"]:
                audit = audits[ref["id"]]
                if ref["weight"] > 0 and audit["score"] is not None and audit["score"] < 1:
                    value = f" {audit['displayValue']}" if audit.get("displayValue") else ""
                    failing.append(f"{key}: {audit['id']} ({audit['score']}{value}) {audit['title']}")
        console = audits["errors-in-console"]
        errors = [] if console["score"] == 1 else [_console_line(item) for item in console["details"]["items"]]
        return cls(scores, failing, errors)

    def below(self) -> list[str]:
        return [key for key in CATEGORIES if self.scores[key] < MINIMUM]


def _console_line(item: dict) -> str:
    where = (item.get("sourceLocation") or {}).get("url", "")
    return f"{item.get('source')}: {item.get('description')} {where}".strip()


ATTEMPTS = 3  # runs of one page when Lighthouse itself fails to record it


def lighthouse(url: str, name: str) -> LighthouseRun:
    """One Lighthouse run of `url`. Lighthouse sometimes fails to record a page's trace on a
    busy machine (a report with a runtimeError such as NO_NAVSTART, which asks to "run
    Lighthouse again"): that run is repeated, up to ATTEMPTS times. A page that loads but
    scores low is not repeated here."""
    REPORTS.mkdir(parents=True, exist_ok=True)
    base = REPORTS / name
    errors: list[str] = []
    report_path = Path(f"{base}.report.json")
    for _attempt in range(ATTEMPTS):
        report_path.unlink(missing_ok=True)  # never read an earlier run's report
        subprocess.run(  # our pinned tool, on our own loopback address
            [
                str(LIGHTHOUSE),
                url,
                "--output=json",
                "--output=html",
                f"--output-path={base}",
                f"--chrome-flags={LIGHTHOUSE_FLAGS}",
                f"--only-categories={','.join(CATEGORIES)}",
                "--no-enable-error-reporting",
                "--quiet",
            ],
            check=False,  # a failed recording still writes its report, read below
            timeout=240,
            env={**os.environ, "CHROME_PATH": CHROMIUM},
            cwd=ROOT,
        )
        report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.exists() else None
        if report is None:
            errors.append("no report written")
            continue
        if report.get("runtimeError") is not None:
            errors.append(str(report["runtimeError"]))
            continue
        assert report["finalDisplayedUrl"].startswith(url.split("?")[0]), "Lighthouse audited another page"
        return LighthouseRun.from_report(report)
    raise AssertionError(f"Lighthouse could not record {url} in {ATTEMPTS} runs: {errors}")


def test_lighthouse_scores_on_a_phone(live_server, demo):
    """Lighthouse's own (simulated) throttling decides the performance score, which still
    moves with the load of a shared 2-core machine: a page whose performance is below the
    bar is audited once more and the better run counts. The other categories do not move
    with load and get no second try (a second run keeps its own report, name-2.report.*)."""
    need_node_tools()
    base = loopback(live_server)
    results: dict[str, LighthouseRun] = {}
    for name, path in demo.items():
        run = lighthouse(base + path, name)
        if run.scores["performance"] < MINIMUM:
            again = lighthouse(base + path, f"{name}-2")
            if again.scores["performance"] > run.scores["performance"]:
                run = again
        results[name] = run

    table = [f"{'page':<16}" + "".join(f"{key:>16}" for key in CATEGORIES)]
    table += [
        f"{name:<16}" + "".join(f"{round(run.scores[key] * 100):>16}" for key in CATEGORIES)
        for name, run in results.items()
    ]
    print("\nLighthouse (mobile):\n" + "\n".join(table))
    problems = []
    for name, run in results.items():
        if run.below() or run.console_errors:
            problems.append(f"{name} ({demo[name]}): below {MINIMUM:.0%} in {', '.join(run.below()) or '-'}")
            problems += [f"    {line}" for line in run.failing]
            problems += [f"    console error: {line}" for line in run.console_errors]
    assert not problems, "\n".join(["Lighthouse audits failed (reports in test-artifacts/lighthouse/):", *problems])


# --- axe-core ---------------------------------------------------------------------------


def axe_violations(page) -> list[dict]:
    """axe's serious and critical violations on the page as it is now.

    Our CSP (script-src 'self') forbids inline scripts, and Playwright's add_script_tag
    inserts the file's text as an inline <script>, which the page refuses. page.evaluate
    runs through the DevTools protocol, which the page's CSP does not govern, so axe is
    defined there without loosening the policy of the page under test (as bypass_csp would)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await window.axe.run(document, {resultTypes: ['violations']})")
    return [violation for violation in result["violations"] if violation["impact"] in BLOCKING_IMPACTS]


def describe(violations: list[dict]) -> list[str]:
    lines = []
    for violation in violations:
        lines.append(f"  [{violation['impact']}] {violation['id']}: {violation['help']} ({violation['helpUrl']})")
        for node in violation["nodes"][:5]:
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"      {', '.join(map(str, node['target']))}: {summary}")
        if len(violation["nodes"]) > 5:
            lines.append(f"      … and {len(violation['nodes']) - 5} more")
    return lines


def log_in(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))


def test_axe_finds_no_serious_violations_on_a_phone_and_a_desktop(browser, live_server, demo):
    need_node_tools()
    listing_path = demo["listing"]
    problems: list[str] = []
    for size_name, viewport in VIEWPORTS.items():
        for who, pages in (
            (None, dict(demo)),
            ("seller@example.com", {"sell-form": "/sell/books/"}),
            ("buyer@example.com", {"buy-step": listing_path}),
        ):
            context = browser.new_context(base_url=loopback(live_server), locale="zh-CN", viewport=viewport)
            context.set_default_timeout(15_000)
            page = context.new_page()
            try:
                if who:
                    log_in(page, who)
                for name, path in pages.items():
                    page.goto(path)
                    page.wait_for_load_state("load")
                    if name == "buy-step":  # the buy form is what this step audits
                        expect(page.locator("form.buy-form")).to_be_visible()
                    if name == "sell-form":
                        expect(page.locator("main form")).to_be_visible()
                    found = axe_violations(page)
                    if found:
                        size = f"{size_name} {viewport['width']}×{viewport['height']}"
                        problems.append(f"{name} ({path}) on a {size}:")
                        problems += describe(found)
            finally:
                context.close()
    assert not problems, "\n".join(["axe-core found serious or critical violations:", *problems])
