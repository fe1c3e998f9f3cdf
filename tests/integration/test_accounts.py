"""Sign-up, e-mail verification, login rate limits, organisations and the 2FA rule."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import hotp_value, yield_hotp_counters_from_time
from django.core import mail
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation

from marketplace.errors import MFARequired, PermissionDenied, ValidationFailed
from marketplace.models import Membership, Organisation, OrganisationKind, Role, User
from marketplace.services.accounts import membership_add, organisation_create, user_act_as
from tests.factories import PASSWORD, TOTP_SECRET, MembershipFactory, OrganisationFactory, UserFactory, make_uscc

pytestmark = pytest.mark.django_db

SIGNUP = {
    "email": "new.citizen@example.org",
    "display_name": "小明",
    "password1": "a-long-Unusual-pass-42",
    "password2": "a-long-Unusual-pass-42",
}


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    cache.clear()


def current_totp(secret: str) -> str:
    counters = list(yield_hotp_counters_from_time())
    counter = counters[len(counters) // 2]
    return f"{hotp_value(secret, counter):06d}"


def test_signup_creates_an_unverified_user_and_sends_a_verification_mail(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_signup"), SIGNUP)
    assert response.status_code == 302
    user = User.objects.get(email=SIGNUP["email"])
    assert user.display_name == "小明"
    assert not EmailAddress.objects.get(user=user).verified
    assert len(mail.outbox) == 1
    assert "/accounts/confirm-email/" in mail.outbox[0].body


def test_login_is_refused_until_the_address_is_verified_then_allowed(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_signup"), SIGNUP)
    client.logout()
    response = client.post(reverse("account_login"), {"login": SIGNUP["email"], "password": SIGNUP["password1"]})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session

    url = re.search(r"https?://[^/]+(/accounts/confirm-email/[^\s]+)", mail.outbox[0].body).group(1)
    client.post(url)
    assert EmailAddress.objects.get(email=SIGNUP["email"]).verified
    response = client.post(reverse("account_login"), {"login": SIGNUP["email"], "password": SIGNUP["password1"]})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(User.objects.get(email=SIGNUP["email"]).pk)


def test_signup_with_a_used_email_shows_an_error_and_creates_nothing(client):
    UserFactory(email=SIGNUP["email"])
    with translation.override("en"):
        response = client.post(reverse("account_signup"), SIGNUP, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "already registered" in response.content.decode()
    assert User.objects.filter(email=SIGNUP["email"]).count() == 1
    assert mail.outbox == []


def test_signup_with_a_weak_password_shows_an_error_and_creates_nothing(client):
    data = {**SIGNUP, "password1": "12345678", "password2": "12345678"}
    response = client.post(reverse("account_signup"), data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    body = response.content.decode()
    assert "too common" in body or "too short" in body or "entirely numeric" in body
    assert not User.objects.filter(email=SIGNUP["email"]).exists()


def test_signup_with_a_bad_credit_code_shows_a_translated_error_and_creates_nothing(client):
    data = {
        **SIGNUP,
        "organisation_name": "好物寄卖",
        "organisation_kind": OrganisationKind.CONSIGNMENT_SHOP,
        "organisation_uscc": "91110000600037341M",
    }
    response = client.post(reverse("account_signup"), data)  # default language: zh-hans
    assert response.status_code == 200
    assert "不是有效的统一社会信用代码" in response.content.decode()
    assert not User.objects.filter(email=SIGNUP["email"]).exists()
    assert not Organisation.objects.exists()
    assert mail.outbox == []


def test_signup_with_a_valid_organisation_makes_the_user_its_owner(client):
    code = make_uscc(77)
    data = {
        **SIGNUP,
        "organisation_name": "好物寄卖",
        "organisation_kind": OrganisationKind.CONSIGNMENT_SHOP,
        "organisation_uscc": code.lower(),
    }
    assert client.post(reverse("account_signup"), data).status_code == 302
    organisation = Organisation.objects.get(uscc=code)
    assert organisation.verified_at is None
    assert Membership.objects.filter(organisation=organisation, role=Role.OWNER, user__email=SIGNUP["email"]).exists()


def test_a_shop_without_a_credit_code_is_refused_but_a_school_may_have_none():
    with pytest.raises(ValidationFailed) as exc:
        organisation_create(name="No code shop", kind=OrganisationKind.CONSIGNMENT_SHOP)
    assert "uscc" in exc.value.details
    school = organisation_create(name="第一小学", kind=OrganisationKind.SCHOOL)
    assert school.uscc == ""


def test_a_credit_code_can_only_be_registered_once():
    code = make_uscc(5)
    organisation_create(name="A", kind=OrganisationKind.CONSIGNMENT_SHOP, uscc=code)
    with pytest.raises(ValidationFailed):
        organisation_create(name="B", kind=OrganisationKind.APPRAISAL_INSTITUTION, uscc=code)
    assert Organisation.objects.count() == 1


def test_roles_must_fit_the_kind_of_organisation():
    school = OrganisationFactory(kind=OrganisationKind.SCHOOL, uscc="")
    with pytest.raises(ValidationFailed):
        membership_add(user=UserFactory(), organisation=school, role=Role.TECHNICIAN)


def test_acting_as_appraiser_requires_two_factor_authentication():
    membership = MembershipFactory(
        role=Role.APPRAISER, organisation=OrganisationFactory(kind=OrganisationKind.APPRAISAL_INSTITUTION)
    )
    with pytest.raises(MFARequired):
        user_act_as(user=membership.user, role=Role.APPRAISER)
    from allauth.mfa.totp.internal.auth import TOTP

    TOTP.activate(membership.user, TOTP_SECRET)
    assert user_act_as(user=membership.user, role=Role.APPRAISER) == membership


def test_acting_in_a_role_one_does_not_hold_is_refused():
    with pytest.raises(PermissionDenied):
        user_act_as(user=UserFactory(with_totp=True), role=Role.TECHNICIAN)


def test_staff_without_2fa_are_sent_to_set_it_up_before_using_the_admin(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    for path in ("/cms-admin/", "/django-admin/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"] == reverse("mfa_activate_totp")


def test_staff_with_2fa_reach_the_admin_after_entering_a_code(client):
    staff = UserFactory(is_staff=True, is_superuser=True, with_totp=True)
    response = client.post(reverse("account_login"), {"login": staff.email, "password": PASSWORD})
    assert response["Location"] == reverse("mfa_authenticate")
    response = client.post(reverse("mfa_authenticate"), {"code": current_totp(TOTP_SECRET)})
    assert response.status_code == 302
    assert client.get("/cms-admin/").status_code == 200


def test_failed_logins_are_rate_limited(client):
    user = UserFactory()
    bodies = [
        client.post(
            reverse("account_login"), {"login": user.email, "password": "wrong"}, HTTP_ACCEPT_LANGUAGE="en"
        ).content.decode()
        for _ in range(6)
    ]
    limited = "Too many failed login attempts"
    assert [limited in body for body in bodies] == [False] * 5 + [True]
    # Even the right password is refused while the limit holds.
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_profile_page_shows_memberships_and_the_2fa_warning_with_a_fixed_number_of_queries(
    client, django_assert_max_num_queries
):
    user = UserFactory()
    for _ in range(3):
        MembershipFactory(
            user=user,
            role=Role.APPRAISER,
            organisation=OrganisationFactory(kind=OrganisationKind.APPRAISAL_INSTITUTION),
        )
    client.force_login(user)
    with django_assert_max_num_queries(8) as ctx:
        response = client.get(reverse("profile"), HTTP_ACCEPT_LANGUAGE="en")
    few = len(ctx.captured_queries)
    for _ in range(5):
        MembershipFactory(user=user, organisation=OrganisationFactory())
    with django_assert_max_num_queries(few):
        response = client.get(reverse("profile"))
    body = response.content.decode()
    assert body.count("<tr>") == 1 + 8
    assert reverse("mfa_activate_totp") in body


def test_profile_update_changes_name_and_language(client_logged_in, user):
    response = client_logged_in.post(reverse("profile"), {"display_name": "  New name ", "preferred_language": "en"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.display_name, user.preferred_language) == ("New name", "en")
    assert response.cookies["django_language"].value == "en"


def test_registering_an_organisation_with_a_bad_code_shows_the_error(client_logged_in):
    response = client_logged_in.post(
        reverse("organisation_register"),
        {"organisation_name": "X", "organisation_kind": OrganisationKind.ERASURE_PROVIDER, "organisation_uscc": "123"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "not a valid unified social credit code" in response.content.decode()
    assert not Organisation.objects.exists()


def test_organisation_members_are_visible_to_members_only(client):
    membership = MembershipFactory()
    url = reverse("organisation_detail", args=[membership.organisation.pk])
    outsider = UserFactory()
    client.force_login(outsider)
    assert membership.user.public_name not in client.get(url).content.decode()
    client.force_login(membership.user)
    assert membership.user.public_name in client.get(url).content.decode()
