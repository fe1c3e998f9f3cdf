"""Forms of the credit pages. Validation of the values themselves is in the services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from marketplace.credit.models import COMMENT_MAX_LENGTH

STARS = [(n, str(n)) for n in range(5, 0, -1)]


class RatingForm(forms.Form):
    stars = forms.TypedChoiceField(label=_("Overall"), choices=STARS, coerce=int, widget=forms.RadioSelect)
    as_described = forms.TypedChoiceField(
        label=_("As described / as graded"), choices=STARS, coerce=int, widget=forms.RadioSelect
    )
    communication = forms.TypedChoiceField(
        label=_("Communication"), choices=STARS, coerce=int, widget=forms.RadioSelect
    )
    speed = forms.TypedChoiceField(label=_("Speed"), choices=STARS, coerce=int, widget=forms.RadioSelect)
    comment = forms.CharField(
        label=_("Comment (optional)"),
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Shown on their public profile once both of you have rated (or the rating window closes). "
            "No phone numbers, account IDs or card numbers."
        ),
    )

    def __init__(self, *args: object, party: str = "buyer", **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if party != "buyer":
            # Sellers rate the buyer's communication and speed (payment, pickup), not the item.
            del self.fields["as_described"]
            self.fields["speed"].label = _("Speed (payment, pickup)")


class AppealForm(forms.Form):
    text = forms.CharField(
        label=_("What is wrong with your record?"), max_length=3000, widget=forms.Textarea(attrs={"rows": 4})
    )
