"""City-facing data: the nightly trade rollup behind the statistics, the green-account
factor table and the vehicle relocation (限迁) table. The last two are edited by staff
in the Wagtail admin."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from marketplace.models import Category, DeviceType
from marketplace.models.listings import EmissionStandard, FurnitureType


class TradeRollup(models.Model):
    """One local day × category × item type × place × currency, filled by
    `marketplace.city.services.rollup_refresh` (nightly through Celery beat). The
    dashboard and the public summary read these instead of scanning every order."""

    day = models.DateField(_("day"))
    category = models.CharField(_("category"), max_length=20)
    item_type = models.CharField(_("item type"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=60)
    district = models.CharField(_("district"), max_length=60, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    # Completed orders on that day and their value (minor units).
    trades = models.PositiveIntegerField(_("trades"), default=0)
    value = models.PositiveBigIntegerField(_("value (minor units)"), default=0)
    # Orders that reached the buyer that day (shipped or handed over), returns requested
    # and disputes opened that day: the bases of the return and dispute rates.
    delivered = models.PositiveIntegerField(_("delivered"), default=0)
    returns = models.PositiveIntegerField(_("returns requested"), default=0)
    disputes = models.PositiveIntegerField(_("disputes opened"), default=0)

    class Meta:
        verbose_name = _("daily trade figures")
        verbose_name_plural = _("daily trade figures")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["day", "category", "item_type", "city", "district", "currency"], name="city_rollup_unique"
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["day", "city", "district"], name="city_rollup_day_place_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.category} {self.city}{self.district}"


class DaysToSellRollup(models.Model):
    """How many trades completed on `day` had taken `days` from publication to order:
    a histogram, so the median over any period is exact."""

    day = models.DateField(_("day"))
    category = models.CharField(_("category"), max_length=20)
    city = models.CharField(_("city"), max_length=60)
    district = models.CharField(_("district"), max_length=60, blank=True)
    days = models.PositiveIntegerField(_("days to sell"))
    trades = models.PositiveIntegerField(_("trades"))

    class Meta:
        verbose_name = _("days-to-sell figures")
        verbose_name_plural = _("days-to-sell figures")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["day", "category", "city", "district", "days"], name="city_days_to_sell_unique"
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["day", "city", "district"], name="city_dts_day_place_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.category}: {self.days}d × {self.trades}"


class RollupRun(models.Model):
    """When the rollup was last refreshed and for which days."""

    first_day = models.DateField()
    last_day = models.DateField()
    rows = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("statistics refresh")
        verbose_name_plural = _("statistics refreshes")
        ordering: ClassVar[list[str]] = ["-finished_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.first_day}…{self.last_day} @ {self.finished_at:%Y-%m-%d %H:%M}"


class GreenCategory(models.TextChoices):
    """The marketplace's categories plus what consignment events and swaps take in."""

    ELECTRONICS = Category.ELECTRONICS.value, Category.ELECTRONICS.label
    FURNITURE = Category.FURNITURE.value, Category.FURNITURE.label
    BOOKS = Category.BOOKS.value, Category.BOOKS.label
    VEHICLES = Category.VEHICLES.value, Category.VEHICLES.label
    CLOTHING = "clothing", _("Clothing and shoes")
    TOYS = "toys", _("Toys and games")
    HOUSEHOLD = "household", _("Household")
    SPORTS = "sports", _("Sports and outdoors")
    OTHER = "other", _("Other")


# The item types a factor may be given for, per category (the rollup's `item_type`).
ITEM_TYPES: dict[str, type[models.TextChoices]] = {
    Category.ELECTRONICS: DeviceType,
    Category.FURNITURE: FurnitureType,
}


def item_type_label(category: str, item_type: str) -> str:
    choices = ITEM_TYPES.get(category)
    if not item_type or choices is None or item_type not in choices.values:
        return item_type
    return str(choices(item_type).label)


class GreenFactor(models.Model):
    """kg CO2e avoided when one item of this kind is reused instead of bought new: an
    estimate, with its uncertainty and the public source it is derived from."""

    category = models.CharField(_("category"), max_length=20, choices=GreenCategory.choices)
    item_type = models.CharField(
        _("item type"),
        max_length=30,
        blank=True,
        help_text=_("A device or furniture type; leave empty for the whole category."),
    )
    kg_co2e = models.DecimalField(
        _("kg CO2e avoided per item"),
        max_digits=8,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("0"))],
    )
    uncertainty_percent = models.PositiveSmallIntegerField(
        _("uncertainty (± %)"),
        default=50,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_("How far the true value may plausibly lie from the factor."),
    )
    source = models.CharField(_("source"), max_length=400, help_text=_("The publication the factor is derived from."))
    source_url = models.URLField(_("source address"), blank=True)
    note = models.TextField(_("note"), blank=True, help_text=_("How the factor was derived from the source."))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )

    class Meta:
        verbose_name = _("green-account factor")
        verbose_name_plural = _("green-account factors")
        ordering: ClassVar[list[str]] = ["category", "item_type"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["category", "item_type"], name="city_green_factor_unique"),
            models.CheckConstraint(condition=Q(kg_co2e__gte=0), name="city_green_factor_not_negative"),
            models.CheckConstraint(
                condition=Q(uncertainty_percent__gte=1) & Q(uncertainty_percent__lte=100),
                name="city_green_factor_uncertainty_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} {self.item_type_display}".strip()

    @property
    def item_type_display(self) -> str:
        return item_type_label(self.category, self.item_type)

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        choices = ITEM_TYPES.get(self.category)
        if self.item_type and (choices is None or self.item_type not in choices.values):
            raise ValidationError({"item_type": _("This item type does not exist for the chosen category.")})


class RelocationCity(models.Model):
    """A destination city and the weakest emission standard it accepts when a used car
    is transferred there (限迁). Maintained by staff from the cities' announcements."""

    name = models.CharField(_("city"), max_length=60, unique=True)
    province = models.CharField(_("province"), max_length=60, blank=True)
    minimum_standard = models.CharField(_("minimum emission standard"), max_length=10, choices=EmissionStandard.choices)
    is_example = models.BooleanField(
        _("example entry"),
        default=False,
        help_text=_("Example data, to be checked and maintained by staff; shown to buyers with a warning."),
    )
    source = models.CharField(
        _("source"), max_length=400, blank=True, help_text=_("The announcement the rule is from.")
    )
    note = models.TextField(_("note"), blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("relocation rule")
        verbose_name_plural = _("relocation rules")
        ordering: ClassVar[list[str]] = ["province", "name"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(
                condition=Q(minimum_standard__in=list(EmissionStandard.values)), name="city_relocation_standard_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name
