"""The Wagtail admin speaks the site's languages: Chinese for a zh-hans staff member,
English only when asked for; it shows local avatars instead of gravatar's (blocked by our
CSP) and does not look for Wagtail releases (another blocked call)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def staff_client(*, browser: str | None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=browser) if browser else Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True, with_totp=True, preferred_language="zh-hans"))
    return client


@pytest.mark.parametrize("browser", [None, "zh-CN,zh;q=0.9", "zh-hans"])
def test_the_dashboard_is_in_chinese_for_a_zh_hans_staff_member(browser):
    page = staff_client(browser=browser).get("/cms-admin/")
    assert page.status_code == 200
    text = page.content.decode()
    assert '<html lang="zh-hans"' in text
    assert "控制面板" in text and "搜索" in text


def test_the_admin_offers_only_the_sites_languages(settings):
    assert dict(settings.WAGTAILADMIN_PERMITTED_LANGUAGES) == dict(settings.LANGUAGES)
    page = staff_client(browser="zh-hans").get("/cms-admin/account/")
    text = page.content.decode()
    assert 'value="zh-hans"' in text and 'value="en"' in text
    assert 'value="de"' not in text and 'value="zh-hant"' not in text


def test_no_gravatar_and_no_release_check_in_the_admin():
    text = staff_client(browser="zh-hans").get("/cms-admin/").content.decode()
    assert "gravatar" not in text.lower()
    assert "w-upgrade" not in text
