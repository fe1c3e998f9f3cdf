from .accounts import (
    Membership,
    Organisation,
    OrganisationKind,
    Role,
    User,
)

__all__ = ["Membership", "Organisation", "OrganisationKind", "Role", "User"]
