"""Who edits and runs which community pages.

Every organisation that owns pages gets one Wagtail group (admin access, its own image
collection, and edit/publish rights on exactly its own pages and their subtrees), and its
members with a managing role are put in it. `organisation_cms_access` is idempotent: it is
run when an organisation's page is published, by `seed_demo`, and by
`manage.py cms_sync_access` after memberships change."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from wagtail.models import Collection, GroupCollectionPermission, GroupPagePermission, Page

from cms.models import ORGANISATION_PAGE_MODELS, OrganisationCmsAccess
from marketplace.models import Membership, Organisation, OrganisationKind, Role, User

# Roles that run an organisation's community pages, per kind of organisation.
CMS_ROLES_BY_KIND: dict[str, frozenset[str]] = {
    OrganisationKind.EVENT_ORGANISER: frozenset({Role.OWNER, Role.ORGANISER, Role.STAFF}),
    OrganisationKind.CONSIGNMENT_SHOP: frozenset({Role.OWNER, Role.STAFF}),
    OrganisationKind.SCHOOL: frozenset({Role.OWNER, Role.COORDINATOR}),
}
PAGE_PERMISSIONS = ("change", "publish", "lock", "unlock")
IMAGE_PERMISSIONS = ("add_image", "change_image", "choose_image")


def user_runs_organisation(*, user: User, organisation_id: int | None) -> bool:
    """A member with a managing role (or a superuser) runs the organisation's pages:
    approves stalls, confirms hand-overs, marks items."""
    if not user.is_authenticated or organisation_id is None:
        return False
    if user.is_superuser:
        return True
    memberships = Membership.objects.filter(user=user, organisation_id=organisation_id).select_related("organisation")
    return any(m.role in CMS_ROLES_BY_KIND.get(m.organisation.kind, frozenset()) for m in memberships)


def organisation_runners(*, organisation_id: int | None) -> list[User]:
    """The active members who run the organisation's pages (they decide stall applications)."""
    if organisation_id is None:
        return []
    memberships = (
        Membership.objects.filter(organisation_id=organisation_id, user__is_active=True)
        .select_related("organisation", "user")
        .order_by("user_id")
    )
    return list(
        {
            m.user_id: m.user for m in memberships if m.role in CMS_ROLES_BY_KIND.get(m.organisation.kind, frozenset())
        }.values()
    )


def organisations_run_by(*, user: User) -> list[int]:
    if not user.is_authenticated:
        return []
    return [
        m.organisation_id
        for m in Membership.objects.filter(user=user).select_related("organisation")
        if m.role in CMS_ROLES_BY_KIND.get(m.organisation.kind, frozenset())
    ]


def organisation_pages(*, organisation: Organisation) -> list[Page]:
    pages: list[Page] = []
    for model in ORGANISATION_PAGE_MODELS:
        pages.extend(model.objects.filter(organisation=organisation))
    return pages


def _group_name(organisation: Organisation) -> str:
    return f"{organisation.name} · #{organisation.pk}"[:150]


@transaction.atomic
def organisation_cms_access(*, organisation: Organisation) -> OrganisationCmsAccess:
    """Create or refresh the organisation's group, collection, permissions and members."""
    access = (
        OrganisationCmsAccess.objects.select_related("group", "collection").filter(organisation=organisation).first()
    )
    if access is None:
        group, _ = Group.objects.get_or_create(name=_group_name(organisation))
        collection = Collection.get_first_root_node().add_child(name=organisation.name[:255])
        access = OrganisationCmsAccess.objects.create(organisation=organisation, group=group, collection=collection)
    group = access.group

    group.permissions.add(Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin"))
    for codename in IMAGE_PERMISSIONS:
        permission = Permission.objects.get(content_type__app_label="wagtailimages", codename=codename)
        GroupCollectionPermission.objects.get_or_create(
            group=group, collection=access.collection, permission=permission
        )

    page_permissions = list(
        Permission.objects.filter(
            content_type__app_label="wagtailcore",
            codename__in=[f"{kind}_page" for kind in PAGE_PERMISSIONS],
        )
    )
    pages = organisation_pages(organisation=organisation)
    GroupPagePermission.objects.filter(group=group).exclude(page__in=[page.pk for page in pages]).delete()
    for page in pages:
        for permission in page_permissions:
            GroupPagePermission.objects.get_or_create(group=group, page=page, permission=permission)

    roles = CMS_ROLES_BY_KIND.get(organisation.kind, frozenset())
    members = User.objects.filter(
        memberships__organisation=organisation, memberships__role__in=sorted(roles), is_active=True
    ).distinct()
    group.user_set.set(members)
    access.save(update_fields=["synced_at"])
    return access


def cms_access_sync_all() -> int:
    """Refresh the access of every organisation that owns a page; returns how many."""
    organisation_ids: set[int] = set()
    for model in ORGANISATION_PAGE_MODELS:
        organisation_ids.update(
            model.objects.exclude(organisation=None).values_list("organisation_id", flat=True).distinct()
        )
    for organisation in Organisation.objects.filter(pk__in=organisation_ids):
        organisation_cms_access(organisation=organisation)
    return len(organisation_ids)
