"""factory_boy factories shared by the integration and browser tests."""

from __future__ import annotations

from typing import Any

import factory
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP
from stdnum.cn import uscc as uscc_module

from marketplace.models import Membership, Organisation, OrganisationKind, Role, User

PASSWORD = "correct-horse-battery-9"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def make_uscc(n: int) -> str:
    base = f"9131000{n:010d}"[:17]
    return base + uscc_module.calc_check_digit(base)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    display_name = factory.Sequence(lambda n: f"User {n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            EmailAddress.objects.create(user=self, email=self.email, primary=True, verified=extracted is not False)
            self.save()

    @factory.post_generation
    def with_totp(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            TOTP.activate(self, TOTP_SECRET)


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Organisation {n}")
    kind = OrganisationKind.CONSIGNMENT_SHOP
    uscc = factory.Sequence(lambda n: make_uscc(n + 1))


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = Role.OWNER
