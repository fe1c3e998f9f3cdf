"""The local book catalogue: what the platform knows about an ISBN, so a seller who types
an ISBN gets the title, authors, publisher and year filled in.

It learns from the demo's books, from earlier listings and school book swaps (the first
details typed for an ISBN are kept for the next seller and never silently replaced) and,
when one is configured, from an online lookup (marketplace.book_lookup). Staff correct
records in the Wagtail admin."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from marketplace.models.accounts import User


class BookRecordSource(models.TextChoices):
    LISTING = "listing", _("Typed by a seller")
    BOOK_SWAP = "book_swap", _("Typed at a school book swap")
    LOOKUP = "lookup", _("Online catalogue")
    STAFF = "staff", _("Edited by staff")
    IMPORT = "import", _("Taken from earlier listings")


class BookRecord(models.Model):
    isbn = models.CharField(_("ISBN-13"), max_length=13, unique=True)
    title = models.CharField(_("book title"), max_length=300)
    authors = models.JSONField(_("authors"), default=list, blank=True)
    publisher = models.CharField(_("publisher"), max_length=200, blank=True)
    year = models.PositiveSmallIntegerField(_("year"), null=True, blank=True)
    source = models.CharField(
        _("source"), max_length=20, choices=BookRecordSource.choices, default=BookRecordSource.LISTING
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("updated by")
    )

    class Meta:
        verbose_name = _("book record")
        verbose_name_plural = _("book catalogue")
        ordering: ClassVar[list[str]] = ["title", "isbn"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            # Stored as ISBN-13 digits (marketplace.validators.normalise_isbn).
            models.CheckConstraint(condition=Q(isbn__regex=r"^97[89][0-9]{10}$"), name="book_record_isbn13"),
            models.CheckConstraint(condition=~Q(title=""), name="book_record_has_title"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.isbn})"
