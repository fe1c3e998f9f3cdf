"""Page-editor forms for community pages.

Inline rows (market dates, stall types, add-ons, drop-off slots) that applications or
registrations point at cannot be deleted from the editor: the form says so, and a date is
cancelled instead. The flea-market form also adds the dates of the repeat rule when the
page is saved, so they are part of the revision like hand-made dates."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.admin.forms import WagtailAdminPageForm

# inline relation name → the related name of rows that must not lose their target
PROTECTED_RELATIONS = {
    "dates": "applications",
    "stall_types": "applications",
    "add_ons": "applications",
    "drop_off_slots": "registrations",
}


class GuardedDeletionPageForm(WagtailAdminPageForm):
    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean()
        for relation, dependents in PROTECTED_RELATIONS.items():
            formset = self.formsets.get(relation)
            if formset is None:
                continue
            for form in formset.deleted_forms:
                instance = form.instance
                if instance.pk and getattr(instance, dependents).exists():
                    self.add_error(
                        None,
                        _(
                            "“%(row)s” cannot be deleted: people have applied or registered for it. "
                            "Cancel it instead (for a date, tick “cancelled”)."
                        )
                        % {"row": instance},
                    )
        return cleaned


class FleaMarketPageForm(GuardedDeletionPageForm):
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        recurrence = cleaned.get("recurrence")
        starts, ends = cleaned.get("recurrence_starts"), cleaned.get("recurrence_ends")
        if recurrence and recurrence != "none" and not starts:
            self.add_error("recurrence_starts", _("Say from when the market repeats."))
        if starts and ends and ends < starts:
            self.add_error("recurrence_ends", _("The end of the repetition is before its start."))
        opens, closes = cleaned.get("opens_at"), cleaned.get("closes_at")
        if opens and closes and closes <= opens:
            self.add_error("closes_at", _("The market closes before it opens."))
        return cleaned

    def save(self, commit: bool = True) -> Any:
        from cms.services.flea import market_missing_dates

        page = super().save(commit=False)
        existing = {row.date for row in page.dates.all() if row.date}
        new_dates = market_missing_dates(market=page, existing=existing, today=timezone.localdate())
        if new_dates:
            page.dates.add(*new_dates)
        if commit:
            page.save()
        return page
