"""Reads for the grading pages: the rule-set versions anyone may read, an appraiser's
credentials, a listing's active appraisal request."""

from __future__ import annotations

from django.db.models import QuerySet

from grading.models import (
    AppraisalRequest,
    AppraisalRequestStatus,
    AppraiserCredential,
    RuleSetStatus,
    RuleSetVersion,
)
from marketplace.models import Category, Membership, Role, User

# Published versions (live or older) stay readable so that every grade stays explainable;
# drafts are staff business.
READABLE_STATUSES = (RuleSetStatus.PUBLISHED, RuleSetStatus.RETIRED)
CATEGORY_ORDER = {category: index for index, category in enumerate(Category.values)}


def ruleset_versions(*, key: str) -> QuerySet[RuleSetVersion]:
    """Every readable version of one rule set, newest first."""
    return RuleSetVersion.objects.filter(key=key, status__in=READABLE_STATUSES).order_by("-published_at", "-pk")


def ruleset_live(*, key: str) -> RuleSetVersion | None:
    """The version in force: the newest published one."""
    return (
        RuleSetVersion.objects.filter(key=key, status=RuleSetStatus.PUBLISHED).order_by("-published_at", "-pk").first()
    )


def ruleset_version(*, key: str, version: str) -> RuleSetVersion | None:
    return RuleSetVersion.objects.filter(key=key, version=version, status__in=READABLE_STATUSES).first()


def rulesets_live() -> list[RuleSetVersion]:
    """The version in force of every rule set, by category."""
    newest: dict[str, RuleSetVersion] = {}
    for version in RuleSetVersion.objects.filter(status=RuleSetStatus.PUBLISHED).order_by("published_at", "pk"):
        newest[version.key] = version
    return sorted(newest.values(), key=lambda v: (CATEGORY_ORDER.get(v.category, 99), v.key))


def appraiser_credentials_of(*, user: User) -> list[AppraiserCredential]:
    return list(AppraiserCredential.objects.filter(user=user).select_related("organisation").order_by("-created_at"))


def appraisal_request_active(*, listing_id: int) -> AppraisalRequest | None:
    return AppraisalRequest.objects.filter(
        listing_id=listing_id, status__in=[AppraisalRequestStatus.OPEN, AppraisalRequestStatus.CLAIMED]
    ).first()


def user_is_appraiser(*, user: User) -> bool:
    return Membership.objects.filter(user=user, role=Role.APPRAISER).exists()
