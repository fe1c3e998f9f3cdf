from .accounts import OrganisationRegisterForm, ProfileForm, SignupExtraForm

__all__ = ["OrganisationRegisterForm", "ProfileForm", "SignupExtraForm"]
