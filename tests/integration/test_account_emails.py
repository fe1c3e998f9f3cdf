"""allauth's e-mails read as ours in both languages: the Site is named "循环 Xunhuan", the
subject carries it as prefix, the greeting and footer name it, an HTML part comes with the
text; confirming the address from the sign-up browser logs the user in."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.sites.models import Site
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from marketplace.models import User

pytestmark = pytest.mark.django_db

SITE_NAME = "循环 Xunhuan"
SIGNUP = {
    "email": "mail.reader@example.org",
    "display_name": "小红",
    "password1": "a-long-Unusual-pass-42",
    "password2": "a-long-Unusual-pass-42",
}


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    cache.clear()


def sign_up(client: Client, django_capture_on_commit_callbacks, language: str) -> mail.EmailMessage:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_signup"), SIGNUP, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    return mail.outbox[0]


def confirm_path(message: mail.EmailMessage) -> str:
    return re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+)", message.body).group(1)


def html_part(message: mail.EmailMessage) -> str:
    return next(content for content, mimetype in message.alternatives if mimetype == "text/html")


def test_the_site_is_named_for_both_languages():
    assert Site.objects.get_current().name == SITE_NAME


def test_the_verification_mail_in_chinese_names_the_site(client, django_capture_on_commit_callbacks):
    message = sign_up(client, django_capture_on_commit_callbacks, "zh-hans")
    assert message.subject == f"[{SITE_NAME}] 请确认您的电子邮箱地址"
    for body in (message.body, html_part(message)):
        assert f"来自{SITE_NAME}的问候" in body
        assert f"感谢您在{SITE_NAME}买卖二手物品" in body
        assert SIGNUP["email"] in body
        assert "来自的" not in body and "在  上" not in body and "Hello" not in body
    assert confirm_path(message) in html_part(message)


def test_the_verification_mail_in_english_names_the_site(client, django_capture_on_commit_callbacks):
    message = sign_up(client, django_capture_on_commit_callbacks, "en")
    assert message.subject == f"[{SITE_NAME}] Confirm your e-mail address"
    assert f"Hello from {SITE_NAME}," in message.body
    assert f"open an account on {SITE_NAME}." in message.body
    assert f"Thank you for buying and selling second-hand on {SITE_NAME}." in html_part(message)


def test_confirming_in_the_sign_up_browser_logs_the_user_in(client, django_capture_on_commit_callbacks):
    message = sign_up(client, django_capture_on_commit_callbacks, "zh-hans")
    assert "_auth_user_id" not in client.session
    response = client.post(confirm_path(message))
    user = User.objects.get(email=SIGNUP["email"])
    assert EmailAddress.objects.get(user=user).verified
    assert client.session["_auth_user_id"] == str(user.pk)
    assert response.status_code == 302
    assert client.get(reverse("profile")).status_code == 200


def test_confirming_in_another_browser_only_confirms(client, django_capture_on_commit_callbacks):
    """allauth's design: only the session that signed up is logged in by the link."""
    message = sign_up(client, django_capture_on_commit_callbacks, "zh-hans")
    other = Client()
    response = other.post(confirm_path(message))
    assert response.status_code == 302
    assert EmailAddress.objects.get(email=SIGNUP["email"]).verified
    assert "_auth_user_id" not in other.session
