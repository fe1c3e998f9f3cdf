"""Page forms for consignment: amounts are typed in yuan and percentages in per cent;
the services receive minor units and basis points."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace.consignment import rules
from marketplace.consignment.models import DiscountBearer, ExpiryAction, PayoutMethod
from marketplace.consignment.services import INTAKE_CATEGORIES
from marketplace.models import Category, DeviceType
from marketplace.models.listings import FurnitureType


def yuan_field(label: Any, *, required: bool = True, help_text: Any = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
        help_text=help_text,
    )


def percent_field(label: Any, *, required: bool = True, help_text: Any = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        min_value=Decimal("0"),
        max_value=Decimal("100"),
        max_digits=5,
        decimal_places=2,
        help_text=help_text,
    )


def to_fen(value: Decimal | None) -> int | None:
    return None if value is None else int(value * 100)


def to_bp(value: Decimal | None) -> int | None:
    return None if value is None else int(value * 100)


MARKDOWN_SLOTS = 3


class AgreementForm(forms.Form):
    consignor_email = forms.EmailField(
        label=gettext_lazy("Consignor's e-mail address"),
        help_text=gettext_lazy(
            "We e-mail them an invitation with these terms. Nothing can be listed in their name until they "
            "accept it in their account (people without one are asked to sign up)."
        ),
    )
    share_percent = percent_field(
        gettext_lazy("Consignor's share (%)"), help_text=gettext_lazy("Of the sale price, e.g. 60.")
    )
    tier_up_to_yuan = yuan_field(
        gettext_lazy("…for items priced up to (¥)"),
        required=False,
        help_text=gettext_lazy("Optional: a second tier for dearer items, e.g. 500."),
    )
    share_above_percent = percent_field(
        gettext_lazy("Consignor's share above that price (%)"), required=False, help_text=gettext_lazy("e.g. 70.")
    )
    floor_price_yuan = yuan_field(gettext_lazy("Floor price (¥)"), required=False)
    floor_percent = percent_field(
        gettext_lazy("…or floor as a percentage of the original price"),
        required=False,
        help_text=gettext_lazy("Markdowns never go below the floor. Give one of the two, or neither."),
    )
    discount_bearer = forms.ChoiceField(
        label=gettext_lazy("Who bears a discount"),
        choices=DiscountBearer.choices,
        initial=DiscountBearer.SHARED,
        help_text=gettext_lazy(
            "Shared: the consignor gets their share of the actual sale price. The shop: the consignor still gets "
            "their share of the original price. The consignor: the shop keeps its commission on the original price."
        ),
    )
    expiry_days = forms.IntegerField(label=gettext_lazy("Unsold items expire after (days)"), min_value=1, initial=90)
    expiry_action = forms.ChoiceField(
        label=gettext_lazy("Then"), choices=ExpiryAction.choices, initial=ExpiryAction.RETURN
    )
    payout_threshold_yuan = forms.DecimalField(
        label=gettext_lazy("Payout threshold (¥)"),
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=2,
        initial=Decimal("0"),
        help_text=gettext_lazy("Smallest payout the shop makes."),
    )
    notes = forms.CharField(label=gettext_lazy("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for n in range(1, MARKDOWN_SLOTS + 1):
            self.fields[f"markdown_{n}_days"] = forms.IntegerField(
                label=gettext_lazy("Markdown %(n)s after (days on sale)") % {"n": n}, required=False, min_value=1
            )
            self.fields[f"markdown_{n}_percent"] = percent_field(
                gettext_lazy("Markdown %(n)s (%% off the original price)") % {"n": n}, required=False
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        up_to, above = cleaned.get("tier_up_to_yuan"), cleaned.get("share_above_percent")
        if (up_to is None) != (above is None):
            self.add_error(
                "share_above_percent" if above is None else "tier_up_to_yuan",
                _("Give both the price and the share of the second tier, or neither."),
            )
        steps = []
        for n in range(1, MARKDOWN_SLOTS + 1):
            days, percent = cleaned.get(f"markdown_{n}_days"), cleaned.get(f"markdown_{n}_percent")
            if (days is None) != (percent is None):
                self.add_error(f"markdown_{n}_percent", _("Give both the day and the percentage, or neither."))
            elif days is not None and percent is not None:
                steps.append(rules.Step(after_days=days, discount_bp=int(percent * 100)))
        cleaned["steps"] = steps
        return cleaned

    def service_kwargs(self) -> dict[str, Any]:
        c = self.cleaned_data
        share = to_bp(c["share_percent"])
        if c.get("tier_up_to_yuan") is not None and c.get("share_above_percent") is not None:
            tiers = [
                rules.Tier(to_fen(c["tier_up_to_yuan"]), share or 0),
                rules.Tier(None, to_bp(c["share_above_percent"]) or 0),
            ]
        else:
            tiers = [rules.Tier(None, share or 0)]
        return {
            "email": c["consignor_email"],
            "tiers": tiers,
            "steps": c["steps"],
            "floor_price": to_fen(c.get("floor_price_yuan")),
            "floor_percent_bp": to_bp(c.get("floor_percent")),
            "discount_bearer": c["discount_bearer"],
            "expiry_days": c["expiry_days"],
            "expiry_action": c["expiry_action"],
            "payout_threshold": to_fen(c["payout_threshold_yuan"]) or 0,
            "notes": c.get("notes") or "",
        }

    # Where the service's field errors go on this form.
    ERROR_FIELDS: ClassVar[dict[str, str]] = {
        "tiers": "share_percent",
        "steps": "markdown_1_days",
        "floor": "floor_price_yuan",
        "expiry_days": "expiry_days",
        "expiry_action": "expiry_action",
        "bearer": "discount_bearer",
        "payout_threshold": "payout_threshold_yuan",
        "consignor": "consignor_email",
    }


CATEGORY_CHOICES = [("", "—")] + [(value, label) for value, label in Category.choices if value in INTAKE_CATEGORIES]


class IntakeItemForm(forms.Form):
    """One item of an intake batch: the common fields and the few details its category needs."""

    title = forms.CharField(label=gettext_lazy("Title"), max_length=120)
    category = forms.ChoiceField(label=gettext_lazy("Category"), choices=CATEGORY_CHOICES)
    price_yuan = yuan_field(gettext_lazy("Asking price (¥)"))
    condition_notes = forms.CharField(
        label=gettext_lazy("Condition notes"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    # Books
    isbn = forms.CharField(label=gettext_lazy("ISBN"), required=False, max_length=32)
    # Electronics
    device_type = forms.ChoiceField(
        label=gettext_lazy("Device type"), required=False, choices=[("", "—"), *DeviceType.choices]
    )
    brand = forms.CharField(label=gettext_lazy("Brand"), required=False, max_length=60)
    model_name = forms.CharField(label=gettext_lazy("Model"), required=False, max_length=100)
    serial_number = forms.CharField(label=gettext_lazy("Serial number"), required=False, max_length=64)
    imei = forms.CharField(label=gettext_lazy("IMEI"), required=False, max_length=32)
    # Furniture
    furniture_type = forms.ChoiceField(
        label=gettext_lazy("Furniture type"), required=False, choices=[("", "—"), *FurnitureType.choices]
    )
    material = forms.CharField(label=gettext_lazy("Material"), required=False, max_length=100)
    width_cm = forms.IntegerField(label=gettext_lazy("Width (cm)"), required=False, min_value=1)
    depth_cm = forms.IntegerField(label=gettext_lazy("Depth (cm)"), required=False, min_value=1)
    height_cm = forms.IntegerField(label=gettext_lazy("Height (cm)"), required=False, min_value=1)

    CATEGORY_FIELDS: ClassVar[dict[str, tuple[str, ...]]] = {
        "books": ("isbn",),
        "electronics": ("device_type", "brand", "model_name", "serial_number", "imei"),
        "furniture": ("furniture_type", "material", "width_cm", "depth_cm", "height_cm"),
    }

    def attributes(self) -> dict[str, Any]:
        c = self.cleaned_data
        category = c["category"]
        found = {name: c.get(name) for name in self.CATEGORY_FIELDS[category] if c.get(name) not in (None, "")}
        if category == "books":
            found |= {"book_title": c["title"], "language": "zh"}
        if category == "furniture":
            found |= {"assembly_state": "assembled"}
        return found

    def line(self) -> Any:
        from marketplace.consignment.services import IntakeLine

        c = self.cleaned_data
        return IntakeLine(
            title=c["title"],
            category=c["category"],
            price=to_fen(c["price_yuan"]) or 0,
            condition_notes=c.get("condition_notes") or "",
            attributes=self.attributes(),
        )

    def place_error(self, name: str, messages: list[str]) -> None:
        """An error from the listing service (`title`, `price`, `attributes.isbn`…) on this row."""
        name = name.removeprefix("attributes.")
        if name == "price":
            name = "price_yuan"
        if name == "book_title":
            name = "title"
        field = name if name in self.fields else None
        for message in messages:
            self.add_error(field, message)


class BaseIntakeFormSet(forms.BaseFormSet[IntakeItemForm]):
    def clean(self) -> None:
        super().clean()
        if not any(form.has_changed() for form in self.forms):
            raise forms.ValidationError(_("Enter at least one item."))


def intake_formset_class(rows: int) -> type[forms.BaseFormSet[IntakeItemForm]]:
    return forms.formset_factory(
        IntakeItemForm, formset=BaseIntakeFormSet, extra=rows, max_num=30, absolute_max=30, validate_max=True
    )


class PayoutForm(forms.Form):
    amount_yuan = yuan_field(gettext_lazy("Amount (¥)"))
    method = forms.ChoiceField(label=gettext_lazy("Paid by"), choices=PayoutMethod.choices)
    reference = forms.CharField(
        label=gettext_lazy("Reference"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("The bank transfer's reference, or a receipt number for cash."),
    )
