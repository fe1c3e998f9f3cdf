from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from marketplace.models import (
    BookAttributes,
    ElectronicsAttributes,
    FurnitureAttributes,
    Listing,
    ListingPhoto,
    ListingReport,
    ListingStatusChange,
    Membership,
    Notification,
    Organisation,
    ProhibitedTerm,
    StolenGoodsReport,
    StolenMatchAlert,
    User,
    VehicleAttributes,
)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "display_name", "is_staff", "is_active", "date_joined")
    search_fields = ("email", "display_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Profile"), {"fields": ("display_name", "preferred_language")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "uscc", "city", "verified_at")
    list_filter = ("kind",)
    search_fields = ("name", "uscc")
    inlines = (MembershipInline,)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown for inspection only: every change goes through the services (and the
    moderation screens of the Wagtail admin), never through a raw model form."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ElectronicsInline(ReadOnlyInline):
    model = ElectronicsAttributes


class FurnitureInline(ReadOnlyInline):
    model = FurnitureAttributes


class BookInline(ReadOnlyInline):
    model = BookAttributes


class VehicleInline(ReadOnlyInline):
    model = VehicleAttributes


class ListingPhotoInline(ReadOnlyInline):
    model = ListingPhoto
    fields = ("position", "is_cover", "width", "height", "sha256", "renditions", "created_at")
    readonly_fields = fields


class ListingStatusChangeInline(ReadOnlyInline):
    model = ListingStatusChange
    fields = ("created_at", "from_status", "to_status", "actor", "reason")
    readonly_fields = fields


@admin.register(Listing)
class ListingAdmin(ReadOnlyAdmin):
    list_display = ("title", "category", "status", "seller_name", "price", "city", "created_at")
    list_filter = ("category", "status", "city")
    search_fields = ("title", "description")
    list_select_related = ("seller_user", "seller_organisation")
    date_hierarchy = "created_at"
    inlines = (
        ElectronicsInline,
        FurnitureInline,
        BookInline,
        VehicleInline,
        ListingPhotoInline,
        ListingStatusChangeInline,
    )


@admin.register(ListingReport)
class ListingReportAdmin(ReadOnlyAdmin):
    list_display = ("listing", "reason", "reporter", "status", "created_at", "handled_by")
    list_filter = ("status", "reason")
    search_fields = ("listing__title", "details")
    list_select_related = ("listing", "reporter", "handled_by")


@admin.register(ProhibitedTerm)
class ProhibitedTermAdmin(admin.ModelAdmin):
    """The one editable list here: plain data with no workflow (the same as in Wagtail)."""

    list_display = ("term", "category", "active", "note", "created_at")
    list_filter = ("category", "active")
    search_fields = ("term", "note")


@admin.register(StolenGoodsReport)
class StolenGoodsReportAdmin(ReadOnlyAdmin):
    list_display = ("identifier", "identifier_kind", "source", "reference", "active", "created_at", "resolved_at")
    list_filter = ("identifier_kind", "source", "active")
    search_fields = ("identifier", "reference")


@admin.register(StolenMatchAlert)
class StolenMatchAlertAdmin(ReadOnlyAdmin):
    list_display = ("listing", "report", "created_at")
    list_select_related = ("listing", "report")


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("user", "kind", "subject", "created_at", "read_at")
    list_filter = ("kind",)
    search_fields = ("user__email", "subject")
    list_select_related = ("user",)
