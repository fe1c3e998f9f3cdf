"""A newcomer signs up, verifies the address from the e-mail, logs in and switches language."""

from __future__ import annotations

import re
import time

import pytest
from django.core import mail
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def wait_for_mail(count: int = 1, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while len(mail.outbox) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(mail.outbox) >= count, "no verification e-mail was sent"


def test_sign_up_verify_log_in_and_switch_language(page, live_server):
    page.goto("/")
    page.get_by_role("link", name="注册").click()
    page.fill("#id_email", "newcomer@example.org")
    page.fill("#id_display_name", "新邻居")
    page.fill("#id_password1", "Recycle-More-2026!")
    page.fill("#id_password2", "Recycle-More-2026!")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/accounts/confirm-email/$"))

    wait_for_mail()
    message = mail.outbox[-1]
    assert message.to == ["newcomer@example.org"]
    path = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+)", message.body).group(1)

    assert message.subject == "[循环 Xunhuan] 请确认您的电子邮箱地址"
    assert "来自循环 Xunhuan的问候" in message.body

    # Confirming in the browser that signed up logs the newcomer in.
    page.goto(path)
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("我的账户")
    expect(page.locator("main")).to_contain_text("newcomer@example.org")

    page.select_option("#language-select", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("My account")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.select_option("#language-select", "zh-hans")
    expect(page.get_by_role("heading", level=1)).to_have_text("我的账户")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
