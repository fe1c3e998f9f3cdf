"""What several page types share: the organisation that owns a page, a place on the map
(without map tiles: a geo: link opens the visitor's own map app), and rich-text cleaning."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import quote

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.fields import RichTextField

from cms.richtext import sanitise_richtext
from marketplace.models import OrganisationKind

# Rich text everywhere on community pages: headings, lists, emphasis and links; no images,
# embeds or raw HTML.
RICHTEXT_FEATURES: list[str] = ["h2", "h3", "bold", "italic", "ol", "ul", "link", "hr"]

# Who may assign a page to an organisation: the people who manage organisations (platform
# staff). Organisers editing their own page never see the field.
ASSIGN_ORGANISATION_PERMISSION = "marketplace.change_organisation"


def organisation_fk_kwargs(*kinds: str) -> dict[str, Any]:
    """Keyword arguments for a page's `organisation` foreign key, limited to `kinds`."""
    return {
        "on_delete": models.PROTECT,
        "null": True,
        "related_name": "+",
        "verbose_name": _("organisation"),
        "limit_choices_to": {"kind__in": list(kinds)},
        "help_text": _("The organisation whose members edit this page. Set by platform staff."),
    }


class OrganisationPageMixin:
    """A page owned by an organisation: its members get a Wagtail group with permissions on
    this page and its subtree (see cms.services.access)."""

    organisation_kinds: ClassVar[tuple[str, ...]] = ()


class SortedInline(models.Model):
    """Wagtail's Orderable, spelled out so the type checker sees a plain Django model:
    inline rows keep the order the editor gives them."""

    sort_order = models.IntegerField(null=True, blank=True, editable=False)
    sort_order_field = "sort_order"

    class Meta:
        abstract = True
        ordering: ClassVar[list[str]] = ["sort_order"]


class LocationMixin(models.Model):
    """A venue with an address and WGS-84 coordinates. No map tiles are loaded: the page
    shows a geo: link (RFC 5870) that the visitor's map app opens, and an uploaded plan."""

    venue = models.CharField(_("venue"), max_length=120, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    latitude = models.DecimalField(
        _("latitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(-90)), MaxValueValidator(Decimal(90))],
        help_text=_("WGS-84, e.g. 31.188600. Chinese map apps convert it themselves."),
    )
    longitude = models.DecimalField(
        _("longitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(-180)), MaxValueValidator(Decimal(180))],
        help_text=_("WGS-84, e.g. 121.436900."),
    )

    class Meta:
        abstract = True

    @property
    def has_position(self) -> bool:
        return self.latitude is not None and self.longitude is not None

    @property
    def geo_uri(self) -> str:
        """geo:lat,lon with a label for the map app (the q= form Android and iOS understand)."""
        if not self.has_position:
            return ""
        position = f"{self.latitude:f},{self.longitude:f}"
        label = self.venue or self.address
        query = f"?q={position}({quote(label)})" if label else ""
        return f"geo:{position}{query}"


class SanitisedRichTextMixin:
    """Rich text from the admin already passes Wagtail's whitelist; text set any other way
    (imports, the shell, the API) is cleaned here too before it is saved."""

    def clean(self) -> None:
        super().clean()  # type: ignore[misc]
        for field in self._meta.get_fields():  # type: ignore[attr-defined]
            if isinstance(field, RichTextField):
                value = getattr(self, field.attname, "")
                if value:
                    setattr(self, field.attname, sanitise_richtext(value))


EVENT_ORGANISER_KINDS = (OrganisationKind.EVENT_ORGANISER,)
SHOP_KINDS = (OrganisationKind.CONSIGNMENT_SHOP,)
CONSIGNMENT_EVENT_KINDS = (OrganisationKind.EVENT_ORGANISER, OrganisationKind.CONSIGNMENT_SHOP)
SCHOOL_KINDS = (OrganisationKind.SCHOOL,)
