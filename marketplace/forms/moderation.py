"""Forms of reports to moderators."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from marketplace.models import ReportReason


class ReportForm(forms.Form):
    reason = forms.ChoiceField(label=gettext_lazy("Reason"), choices=ReportReason.choices)
    details = forms.CharField(
        label=gettext_lazy("Details (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
