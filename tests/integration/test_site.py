"""Pages a newcomer reaches first, translations, and security headers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "path", ["/", "/cms-admin/login/", "/django-admin/login/", "/accounts/login/", "/accounts/signup/"]
)
def test_public_pages_answer(client, path):
    assert client.get(path).status_code == 200


def test_home_page_is_chinese_by_default_and_english_on_request(client):
    zh = client.get("/").content.decode()
    assert '<html lang="zh-hans">' in zh
    assert "登录" in zh
    client.cookies["django_language"] = "en"
    en = client.get("/").content.decode()
    assert '<html lang="en">' in en
    assert "Log in" in en


def test_language_switcher_sets_the_language(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert "Log in" in client.get("/").content.decode()


def test_strict_content_security_policy_on_public_pages(client):
    policy = client.get("/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-inline'" not in directives["style-src"]
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"


def test_admin_policy_is_relaxed_only_under_the_admin_prefix(client):
    policy = client.get("/cms-admin/login/")["Content-Security-Policy"]
    assert "'unsafe-inline'" in policy
    assert "'unsafe-inline'" not in client.get("/accounts/login/")["Content-Security-Policy"]


def test_security_headers(client):
    response = client.get("/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_no_page_loads_assets_from_a_cdn(client):
    for path in ("/", "/accounts/signup/", "/api/v1/docs"):
        body = client.get(path).content.decode()
        for host in ("cdn.", "unpkg", "jsdelivr", "googleapis", "cdnjs"):
            assert host not in body, (path, host)


def test_check_deploy_is_clean_under_production_settings():
    env = {
        # The browser tests allow async-unsafe ORM calls in this process; a deployment does not.
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "x" * 20 + "a-long-random-production-secret-0123456789",
        "DJANGO_ALLOWED_HOSTS": "xunhuan.example",
        # What marketplace.deploy_checks and wipe_cert.deploy_checks require
        # (tests/integration/test_deploy_checks.py takes each away in turn).
        "CACHE_URL": "redis://127.0.0.1:6379/1",
        "CREDIT_REPORT_SIGNING_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "WIPE_CERT_ENCRYPTION_KEY": "ZmRzYWZkc2FmZHNhZmRzYWZkc2FmZHNhZmRzYWZkc2E=",
        "WIPE_CERT_IDENTIFIER_KEY": "identifier-key-0123456789-abcdefghijklmnop",
        "STRIPE_SECRET_KEY": "",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNINGS" not in result.stderr
    assert "System check identified no issues" in result.stdout
