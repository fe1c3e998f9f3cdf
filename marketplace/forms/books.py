"""The staff form for the local book catalogue (Wagtail admin: "Book catalogue")."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy

from marketplace.forms.listings import AuthorsField
from marketplace.models import BookRecord
from marketplace.validators import normalise_isbn, validate_range


class BookRecordForm(forms.ModelForm):
    # Typed with dashes or as ISBN-10; stored as the 13 digits.
    isbn = forms.CharField(label=gettext_lazy("ISBN"), max_length=32)
    authors = AuthorsField(
        label=gettext_lazy("Authors"),
        required=False,
        help_text=gettext_lazy("Separate the names with commas or 、"),
    )

    class Meta:
        model = BookRecord
        fields = ("isbn", "title", "authors", "publisher", "year")

    def clean_isbn(self) -> str:
        return normalise_isbn(self.cleaned_data.get("isbn", ""))

    def clean_year(self) -> int | None:
        year = self.cleaned_data.get("year")
        if year is not None:
            validate_range(year, low=1450, high=timezone.localdate().year + 1, code="year_out_of_range")
        return year
