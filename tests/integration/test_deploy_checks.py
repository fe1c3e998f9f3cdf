"""`manage.py check --deploy` refuses a production configuration that is missing a setting
production needs, or that derives it from the secret key (marketplace.deploy_checks,
marketplace.credit.deploy_checks, wipe_cert.deploy_checks)."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.checks import Error, run_checks
from django.test import override_settings

from marketplace.credit.report import derived_signing_seed
from wipe_cert.keys import derived_encryption_key

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "x" * 20 + "a-long-random-production-secret-0123456789"
CREDIT_KEY = base64.b64encode(bytes(range(32))).decode()
FERNET_KEY = Fernet.generate_key().decode()
IDENTIFIER_KEY = "identifier-key-0123456789-abcdefghijklmnop"
REDIS_CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://x:6379/1"}}
COMPLETE = {
    "SECRET_KEY": SECRET_KEY,
    "CACHE_URL": "redis://x:6379/1",
    "CACHES": REDIS_CACHES,
    "CREDIT_REPORT_SIGNING_KEY": CREDIT_KEY,
    "WIPE_CERT_ENCRYPTION_KEY": FERNET_KEY,
    "WIPE_CERT_IDENTIFIER_KEY": IDENTIFIER_KEY,
    "STRIPE_SECRET_KEY": "sk_test_123",
    "STRIPE_WEBHOOK_SECRET": "whsec_123",
}
# Everything production needs, as the environment gives it.
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": SECRET_KEY,
    "DJANGO_ALLOWED_HOSTS": "xunhuan.example",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
    "CREDIT_REPORT_SIGNING_KEY": CREDIT_KEY,
    "WIPE_CERT_ENCRYPTION_KEY": FERNET_KEY,
    "WIPE_CERT_IDENTIFIER_KEY": IDENTIFIER_KEY,
    "STRIPE_SECRET_KEY": "sk_test_123",
    "STRIPE_WEBHOOK_SECRET": "whsec_123",
}


def xunhuan_errors() -> dict[str, str]:
    found = run_checks(include_deployment_checks=True)
    return {m.id: m.msg for m in found if isinstance(m, Error) and m.id and m.id.startswith("xunhuan.")}


def test_a_complete_production_configuration_raises_nothing():
    with override_settings(**COMPLETE):
        assert xunhuan_errors() == {}


def derived_from_secret_key() -> dict[str, str]:
    with override_settings(SECRET_KEY=SECRET_KEY):
        return {
            "CREDIT_REPORT_SIGNING_KEY": base64.b64encode(derived_signing_seed()).decode(),
            "WIPE_CERT_ENCRYPTION_KEY": derived_encryption_key().decode(),
        }


@pytest.mark.parametrize(
    ("change", "error_id", "words"),
    [
        (
            {"CACHE_URL": "", "CACHES": {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}},
            "xunhuan.E001",
            "CACHE_URL is not set",
        ),
        ({"CREDIT_REPORT_SIGNING_KEY": ""}, "xunhuan.E002", "CREDIT_REPORT_SIGNING_KEY is not set"),
        ({"CREDIT_REPORT_SIGNING_KEY": SECRET_KEY}, "xunhuan.E003", "not the base64"),
        ({"CREDIT_REPORT_SIGNING_KEY": "derived"}, "xunhuan.E002", "derived from the secret key"),
        ({"WIPE_CERT_ENCRYPTION_KEY": ""}, "xunhuan.E004", "WIPE_CERT_ENCRYPTION_KEY is not set"),
        ({"WIPE_CERT_ENCRYPTION_KEY": "derived"}, "xunhuan.E004", "derived from the secret key"),
        ({"WIPE_CERT_ENCRYPTION_KEY": "not-a-fernet-key"}, "xunhuan.E005", "not a Fernet key"),
        ({"WIPE_CERT_IDENTIFIER_KEY": ""}, "xunhuan.E006", "WIPE_CERT_IDENTIFIER_KEY is not set"),
        ({"WIPE_CERT_IDENTIFIER_KEY": SECRET_KEY}, "xunhuan.E006", "derived from the secret key"),
        ({"STRIPE_WEBHOOK_SECRET": ""}, "xunhuan.E007", "STRIPE_WEBHOOK_SECRET is not"),
    ],
)
def test_each_missing_or_derived_setting_is_an_error(change, error_id, words):
    derived = derived_from_secret_key()
    change = {name: derived[name] if value == "derived" else value for name, value in change.items()}
    with override_settings(**{**COMPLETE, **change}):
        errors = xunhuan_errors()
    assert list(errors) == [error_id]
    assert words in errors[error_id]


def test_without_stripe_no_webhook_secret_is_needed():
    with override_settings(**{**COMPLETE, "STRIPE_SECRET_KEY": "", "STRIPE_WEBHOOK_SECRET": ""}):
        assert xunhuan_errors() == {}


def test_the_checks_run_only_with_deploy():
    with override_settings(CACHE_URL="", CREDIT_REPORT_SIGNING_KEY="", WIPE_CERT_ENCRYPTION_KEY=""):
        assert not [m for m in run_checks() if m.id and m.id.startswith("xunhuan.")]


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # The browser tests allow async-unsafe ORM calls in this process; a deployment does not.
    inherited = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV and k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**inherited, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_passes_with_the_full_production_environment():
    result = check_deploy(PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    ("missing", "error_id"),
    [
        ("CACHE_URL", "xunhuan.E001"),
        ("CREDIT_REPORT_SIGNING_KEY", "xunhuan.E002"),
        ("WIPE_CERT_ENCRYPTION_KEY", "xunhuan.E004"),
        ("WIPE_CERT_IDENTIFIER_KEY", "xunhuan.E006"),
        ("STRIPE_WEBHOOK_SECRET", "xunhuan.E007"),
    ],
)
def test_check_deploy_fails_when_one_setting_is_missing(missing, error_id):
    result = check_deploy({name: value for name, value in PRODUCTION_ENV.items() if name != missing})
    assert result.returncode != 0
    assert error_id in result.stderr
    assert missing in result.stderr
