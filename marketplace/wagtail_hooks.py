"""The core's own staff screens in the Wagtail admin: the local book catalogue, which
moderators and staff correct (sellers only ever add records for ISBNs it did not know)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.ui.tables import DateColumn
from wagtail.admin.views.generic import CreateView, EditView
from wagtail.permissions import register_permission_policy

from marketplace.forms.books import BookRecordForm
from marketplace.models import BookRecord, BookRecordSource
from marketplace.staff_admin import StaffOnlyPermissionPolicy, StaffOnlyViewSet

register_permission_policy(
    BookRecord, StaffOnlyPermissionPolicy(BookRecord, actions={"view", "add", "change", "delete"})
)


class _StaffEdit:
    """A record staff saved is theirs: who and when are kept, and sellers never replace it."""

    request: Any
    form: Any

    def save_instance(self) -> Any:
        self.form.instance.updated_by = self.request.user
        self.form.instance.source = BookRecordSource.STAFF
        return super().save_instance()  # type: ignore[misc]


class BookRecordCreateView(_StaffEdit, CreateView):
    pass


class BookRecordEditView(_StaffEdit, EditView):
    pass


class BookRecordViewSet(StaffOnlyViewSet):
    model = BookRecord
    name = "book-catalogue"
    icon = "doc-full"
    menu_label = _("Book catalogue")
    menu_order = 260
    add_to_admin_menu = True
    add_view_class = BookRecordCreateView
    edit_view_class = BookRecordEditView
    list_display = (
        "title",
        "isbn",
        "publisher",
        "year",
        "source",
        "updated_by",
        DateColumn("updated_at", label=_("Updated at"), sort_key="updated_at"),
    )
    list_filter = ("source",)
    search_fields = ("isbn", "title", "publisher")
    ordering = ("title", "isbn")

    def get_form_class(self, for_update: bool = False) -> type[BookRecordForm]:
        return BookRecordForm


@hooks.register("register_admin_viewset")
def register_book_catalogue_viewset() -> BookRecordViewSet:
    return BookRecordViewSet()
