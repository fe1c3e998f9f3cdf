"""Listings: the common fields, per-category attributes, photos and status history.

`Listing.status` is never assigned outside `marketplace.services.lifecycle`; the
allowed transitions are data (`ALLOWED_TRANSITIONS`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from marketplace.models.accounts import Organisation, User


class Category(models.TextChoices):
    ELECTRONICS = "electronics", _("Electronics")
    FURNITURE = "furniture", _("Furniture")
    BOOKS = "books", _("Books")
    VEHICLES = "vehicles", _("Vehicles")


class ListingStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING_APPRAISAL = "pending_appraisal", _("Waiting for appraisal")
    PENDING_ERASURE = "pending_erasure", _("Waiting for data erasure")
    READY = "ready", _("Ready to publish")
    PUBLISHED = "published", _("Published")
    RESERVED = "reserved", _("Reserved")
    SOLD = "sold", _("Sold")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    REJECTED = "rejected", _("Taken down")
    EXPIRED = "expired", _("Expired")


S = ListingStatus
_PREPARING = {S.PENDING_APPRAISAL, S.PENDING_ERASURE, S.READY}
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({*_PREPARING, S.WITHDRAWN, S.REJECTED}),
    S.PENDING_APPRAISAL: frozenset({S.DRAFT, S.PENDING_ERASURE, S.READY, S.WITHDRAWN, S.REJECTED}),
    S.PENDING_ERASURE: frozenset({S.DRAFT, S.PENDING_APPRAISAL, S.READY, S.WITHDRAWN, S.REJECTED}),
    # Ready → reserved: an order held while the listing was off sale resumes once it is
    # valid again (marketplace.services.holds).
    S.READY: frozenset(
        {S.DRAFT, S.PENDING_APPRAISAL, S.PENDING_ERASURE, S.PUBLISHED, S.RESERVED, S.WITHDRAWN, S.REJECTED}
    ),
    # A published listing goes back to a preparing stage when its grade or certificate
    # stops being valid (re-appraisal, certificate revocation).
    S.PUBLISHED: frozenset({S.RESERVED, S.PENDING_APPRAISAL, S.PENDING_ERASURE, S.WITHDRAWN, S.REJECTED, S.EXPIRED}),
    # Withdrawn: a return refunded without the seller confirming the item is back. A
    # preparing stage: what vouched for it was revoked while an order held it.
    S.RESERVED: frozenset({S.PUBLISHED, S.SOLD, S.WITHDRAWN, S.REJECTED, S.PENDING_APPRAISAL, S.PENDING_ERASURE}),
    S.SOLD: frozenset(),
    S.WITHDRAWN: frozenset({S.DRAFT}),
    S.REJECTED: frozenset({S.DRAFT}),
    S.EXPIRED: frozenset({S.DRAFT, S.READY}),
}
# Seen by anyone; other states only by the seller, the shop's staff and moderators.
PUBLIC_STATUSES = frozenset({S.PUBLISHED, S.RESERVED, S.SOLD})
# What browsing and the home page list (marketplace.selectors.BROWSABLE_STATUSES).
BROWSABLE = (S.PUBLISHED, S.RESERVED)
# States in which the seller may still edit the listing.
EDITABLE_STATUSES = frozenset({S.DRAFT, *_PREPARING, S.WITHDRAWN, S.EXPIRED, S.REJECTED})
# States that hold an identifier (IMEI, VIN, serial, certificate) for this listing.
LIVE_STATUSES = frozenset({*_PREPARING, S.DRAFT, S.PUBLISHED, S.RESERVED})


class DeviceType(models.TextChoices):
    PHONE = "phone", _("Phone")
    TABLET = "tablet", _("Tablet")
    LAPTOP = "laptop", _("Laptop")
    DESKTOP = "desktop", _("Desktop computer")
    WEARABLE = "wearable", _("Wearable")
    CAMERA = "camera", _("Camera")
    CONSOLE = "console", _("Games console")
    STORAGE_MEDIUM = "storage_medium", _("Storage medium (disk, SSD, memory card)")
    OFFICE_DEVICE = "office_device", _("Office device (printer, scanner, router)")
    OTHER = "other", _("Other")


@dataclass(frozen=True)
class DeviceTraits:
    user_storage: bool  # holds personal data: an erasure certificate is required
    cellular: bool  # may carry IMEI/MEID


# What a device type implies. One table, read by validation, gates and search.
DEVICE_TRAITS: dict[str, DeviceTraits] = {
    DeviceType.PHONE: DeviceTraits(user_storage=True, cellular=True),
    DeviceType.TABLET: DeviceTraits(user_storage=True, cellular=True),
    DeviceType.LAPTOP: DeviceTraits(user_storage=True, cellular=False),
    DeviceType.DESKTOP: DeviceTraits(user_storage=True, cellular=False),
    DeviceType.WEARABLE: DeviceTraits(user_storage=True, cellular=True),
    DeviceType.CAMERA: DeviceTraits(user_storage=False, cellular=False),
    DeviceType.CONSOLE: DeviceTraits(user_storage=True, cellular=False),
    DeviceType.STORAGE_MEDIUM: DeviceTraits(user_storage=True, cellular=False),
    DeviceType.OFFICE_DEVICE: DeviceTraits(user_storage=True, cellular=False),
    DeviceType.OTHER: DeviceTraits(user_storage=False, cellular=False),
}


class Listing(models.Model):
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), blank=True, max_length=5000)
    price = models.PositiveBigIntegerField(_("price (minor units)"), help_text=_("In fen: 4500 means ¥45.00."))
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    city = models.CharField(_("city"), max_length=60)
    district = models.CharField(_("district"), max_length=60, blank=True)
    # Rounded to three decimals (about 100 m) before storing; see services.listings.
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    delivery_ship = models.BooleanField(_("can be shipped"), default=False)
    delivery_pickup = models.BooleanField(_("local pickup"), default=True)
    delivery_event = models.BooleanField(_("at an event"), default=False)
    # For the fair-price band: what the item cost new (for vehicles the replacement cost,
    # 新车价) and when the seller bought it.
    reference_new_price = models.PositiveBigIntegerField(
        _("price when new (minor units)"), null=True, blank=True, help_text=_("Optional; helps estimate a fair price.")
    )
    purchased_on = models.DateField(_("bought on"), null=True, blank=True)

    seller_user = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="listings", verbose_name=_("seller")
    )
    seller_organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="listings",
        verbose_name=_("selling shop"),
    )
    consignor = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="consigned_listings",
        verbose_name=_("consignor"),
    )
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by"), null=True
    )

    status = models.CharField(
        _("status"), max_length=20, choices=ListingStatus.choices, default=ListingStatus.DRAFT, editable=False
    )
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, editable=False)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True, editable=False)
    intake_at = models.DateTimeField(
        _("intake date"), help_text=_("When the item came into the seller's or shop's hands on the platform.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("listing")
        verbose_name_plural = _("listings")
        ordering: ClassVar[list[str]] = ["-created_at"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["status", "category", "-published_at"], name="listing_browse_idx"),
            # Browsing everything (home page, browse without a category), newest first: a
            # partial index matching the browse filter lets PostgreSQL read the first page
            # in order instead of sorting every listing on sale.
            models.Index(
                fields=["-published_at", "-id"],
                condition=Q(status__in=BROWSABLE),
                name="listing_browsable_newest_idx",
            ),
            # Browsing one category or one city, newest first, and the capped count of those
            # pages (marketplace.pagination): read in order and stopped at the LIMIT. The city
            # one also lists the cities on sale (one probe per city, selectors.browse_cities).
            models.Index(
                fields=["category", "-published_at", "-id"],
                condition=Q(status__in=BROWSABLE),
                name="listing_browsable_category_idx",
            ),
            models.Index(
                fields=["city", "-published_at", "-id"],
                condition=Q(status__in=BROWSABLE),
                name="listing_browsable_city_idx",
            ),
            # Browsing by price (low to high, or high to low read backwards), everything, one
            # category or one city: read in order and stopped at the LIMIT, like newest first.
            models.Index(
                fields=["price", "id"],
                condition=Q(status__in=BROWSABLE),
                name="listing_browsable_price_idx",
            ),
            models.Index(
                fields=["category", "price", "id"],
                condition=Q(status__in=BROWSABLE),
                name="listing_browse_cat_price_idx",
            ),
            models.Index(
                fields=["city", "price", "id"],
                condition=Q(status__in=BROWSABLE),
                name="listing_browse_city_price_idx",
            ),
            models.Index(fields=["city", "district"], name="listing_place_idx"),
        ]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(condition=Q(price__gt=0), name="listing_price_positive"),
            models.CheckConstraint(
                condition=(Q(seller_user__isnull=False) & Q(seller_organisation__isnull=True))
                | (Q(seller_user__isnull=True) & Q(seller_organisation__isnull=False)),
                name="listing_exactly_one_seller",
            ),
            models.CheckConstraint(
                condition=Q(consignor__isnull=True) | Q(seller_organisation__isnull=False),
                name="listing_consignor_only_for_shops",
            ),
            models.CheckConstraint(condition=Q(status__in=list(ListingStatus.values)), name="listing_status_valid"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_public(self) -> bool:
        return self.status in PUBLIC_STATUSES

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE_STATUSES

    @property
    def seller_name(self) -> str:
        if self.seller_organisation is not None:
            return self.seller_organisation.name
        return self.seller_user.public_name if self.seller_user is not None else ""

    @cached_property
    def attributes(self) -> ListingAttributes | None:
        """The category's attribute row, or None while it is missing."""
        model = ATTRIBUTE_MODELS[self.category]
        try:
            attributes: ListingAttributes = getattr(self, model.related_accessor)
            return attributes
        except model.DoesNotExist:
            return None

    @property
    def requires_erasure_certificate(self) -> bool:
        attributes = self.attributes
        return isinstance(attributes, ElectronicsAttributes) and attributes.has_user_storage

    def identifiers(self) -> dict[str, str]:
        """Device identifiers by kind (imei, vin, serial), for registers and certificates."""
        attributes = self.attributes
        return attributes.identifiers() if attributes is not None else {}


class ListingAttributes(models.Model):
    related_accessor: ClassVar[str]

    listing = models.OneToOneField(Listing, on_delete=models.CASCADE, primary_key=True, related_name="+")

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"

    def identifiers(self) -> dict[str, str]:
        return {}


class ElectronicsAttributes(ListingAttributes):
    related_accessor = "electronics"

    listing = models.OneToOneField(Listing, on_delete=models.CASCADE, primary_key=True, related_name="electronics")
    device_type = models.CharField(_("device type"), max_length=20, choices=DeviceType.choices)
    brand = models.CharField(_("brand"), max_length=60)
    model_name = models.CharField(_("model"), max_length=100)
    storage_capacity_gb = models.PositiveIntegerField(_("storage capacity (GB)"), null=True, blank=True)
    serial_number = models.CharField(_("serial number"), max_length=64, blank=True)
    imei = models.CharField(_("IMEI"), max_length=15, blank=True)
    imei2 = models.CharField(_("second IMEI"), max_length=15, blank=True)
    meid = models.CharField(_("MEID"), max_length=14, blank=True)

    class Meta:
        verbose_name = _("electronics attributes")
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["imei"], name="electronics_imei_idx"),
            models.Index(fields=["serial_number"], name="electronics_serial_idx"),
        ]

    @property
    def has_user_storage(self) -> bool:
        return DEVICE_TRAITS[self.device_type].user_storage

    @property
    def is_cellular(self) -> bool:
        return DEVICE_TRAITS[self.device_type].cellular

    def identifiers(self) -> dict[str, str]:
        found = {"imei": self.imei, "imei2": self.imei2, "meid": self.meid, "serial": self.serial_number}
        return {kind: value for kind, value in found.items() if value}


class FurnitureType(models.TextChoices):
    SOFA = "sofa", _("Sofa")
    CHAIR = "chair", _("Chair")
    TABLE = "table", _("Table")
    DESK = "desk", _("Desk")
    BED = "bed", _("Bed")
    WARDROBE = "wardrobe", _("Wardrobe")
    CHEST_OF_DRAWERS = "chest_of_drawers", _("Chest of drawers")
    SHELF = "shelf", _("Shelf or bookcase")
    CABINET = "cabinet", _("Cabinet")
    OTHER = "other", _("Other")


class AssemblyState(models.TextChoices):
    ASSEMBLED = "assembled", _("Assembled")
    DISASSEMBLED = "disassembled", _("Taken apart, all parts included")
    FLAT_PACKED = "flat_packed", _("Flat-packed, never assembled")


class FurnitureAttributes(ListingAttributes):
    related_accessor = "furniture"

    listing = models.OneToOneField(Listing, on_delete=models.CASCADE, primary_key=True, related_name="furniture")
    furniture_type = models.CharField(_("type"), max_length=20, choices=FurnitureType.choices)
    material = models.CharField(_("material"), max_length=100)
    width_cm = models.PositiveIntegerField(_("width (cm)"))
    depth_cm = models.PositiveIntegerField(_("depth (cm)"))
    height_cm = models.PositiveIntegerField(_("height (cm)"))
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=6, decimal_places=1, null=True, blank=True)
    upholstered = models.BooleanField(_("upholstered"), default=False)
    clothing_storage = models.BooleanField(
        _("clothing-storage unit"),
        default=False,
        help_text=_("Chests of drawers, wardrobes and similar: the tip-over rule applies."),
    )
    assembly_state = models.CharField(
        _("assembly"), max_length=20, choices=AssemblyState.choices, default=AssemblyState.ASSEMBLED
    )

    class Meta:
        verbose_name = _("furniture attributes")


class BookAttributes(ListingAttributes):
    related_accessor = "book"

    listing = models.OneToOneField(Listing, on_delete=models.CASCADE, primary_key=True, related_name="book")
    isbn = models.CharField(_("ISBN-13"), max_length=13, db_index=True)
    book_title = models.CharField(_("book title"), max_length=300)
    authors = models.JSONField(_("authors"), default=list)
    publisher = models.CharField(_("publisher"), max_length=200, blank=True)
    edition = models.CharField(_("edition"), max_length=60, blank=True)
    year = models.PositiveSmallIntegerField(_("year"), null=True, blank=True)
    language = models.CharField(_("language"), max_length=20, default="zh")
    is_textbook = models.BooleanField(_("textbook"), default=False)
    has_access_code = models.BooleanField(_("includes an access code"), default=False)

    class Meta:
        verbose_name = _("book attributes")


class EmissionStandard(models.TextChoices):
    CN3 = "cn3", _("China 3 (国三)")
    CN4 = "cn4", _("China 4 (国四)")
    CN5 = "cn5", _("China 5 (国五)")
    CN6A = "cn6a", _("China 6a (国六a)")
    CN6B = "cn6b", _("China 6b (国六b)")
    ELECTRIC = "ev", _("Zero-emission (electric)")


class Fuel(models.TextChoices):
    PETROL = "petrol", _("Petrol")
    DIESEL = "diesel", _("Diesel")
    HYBRID = "hybrid", _("Hybrid")
    PLUG_IN_HYBRID = "phev", _("Plug-in hybrid")
    ELECTRIC = "electric", _("Electric")
    GAS = "gas", _("LPG / CNG")


class Transmission(models.TextChoices):
    MANUAL = "manual", _("Manual")
    AUTOMATIC = "automatic", _("Automatic")
    CVT = "cvt", _("CVT")
    DCT = "dct", _("Dual-clutch")


class VehicleAttributes(ListingAttributes):
    related_accessor = "vehicle"

    listing = models.OneToOneField(Listing, on_delete=models.CASCADE, primary_key=True, related_name="vehicle")
    vin = models.CharField(_("VIN"), max_length=17, db_index=True)
    make = models.CharField(_("make"), max_length=60)
    model_name = models.CharField(_("model"), max_length=100)
    first_registration = models.DateField(_("first registration"))
    mileage_km = models.PositiveIntegerField(_("mileage (km)"))
    emission_standard = models.CharField(_("emission standard"), max_length=10, choices=EmissionStandard.choices)
    fuel = models.CharField(_("fuel"), max_length=10, choices=Fuel.choices)
    transmission = models.CharField(_("transmission"), max_length=10, choices=Transmission.choices)
    previous_transfers = models.PositiveSmallIntegerField(_("previous transfers"), default=0)
    inspection_expiry = models.DateField(_("inspection valid until"), null=True, blank=True)
    insurance_expiry = models.DateField(_("compulsory insurance valid until"), null=True, blank=True)

    class Meta:
        verbose_name = _("vehicle attributes")

    def identifiers(self) -> dict[str, str]:
        return {"vin": self.vin}


ATTRIBUTE_MODELS: dict[str, type[ListingAttributes]] = {
    Category.ELECTRONICS: ElectronicsAttributes,
    Category.FURNITURE: FurnitureAttributes,
    Category.BOOKS: BookAttributes,
    Category.VEHICLES: VehicleAttributes,
}


class PrivateFileSystemStorage(FileSystemStorage):
    """Files kept outside MEDIA_ROOT that have no URL at all."""

    def url(self, name: str | None) -> str:
        raise ValueError("Private files are never served by URL.")


def private_storage() -> FileSystemStorage:
    """Uploaded originals: kept for moderation, never given a public URL."""
    return PrivateFileSystemStorage(location=settings.PRIVATE_MEDIA_ROOT)


class ListingPhoto(models.Model):
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="photos", verbose_name=_("listing"))
    # The upload re-encoded with orientation applied and every metadata block removed.
    original = models.FileField(_("original"), storage=private_storage, upload_to="listing-originals/%Y/%m/")
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_cover = models.BooleanField(_("cover photo"), default=False)
    # {"320": "listings/12/…-320.webp", …}: public WebP renditions, filled by a Celery task.
    renditions = models.JSONField(default=dict, blank=True)
    uploaded_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("listing photo")
        verbose_name_plural = _("listing photos")
        ordering: ClassVar[list[str]] = ["position", "pk"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["listing"], condition=Q(is_cover=True), name="listing_one_cover_photo"),
        ]

    def __str__(self) -> str:
        return f"{self.listing_id} #{self.position}"

    def rendition_url(self, width: int) -> str | None:
        from django.core.files.storage import default_storage

        name = self.renditions.get(str(width))
        return default_storage.url(name) if name else None

    @property
    def rendition_urls(self) -> dict[str, str]:
        from django.core.files.storage import default_storage

        return {
            size: default_storage.url(name) for size, name in sorted(self.renditions.items(), key=lambda i: int(i[0]))
        }


class ListingStatusChange(models.Model):
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="status_history")
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    from_status = models.CharField(max_length=20, choices=ListingStatus.choices)
    to_status = models.CharField(max_length=20, choices=ListingStatus.choices)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        ordering: ClassVar[list[str]] = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.listing_id}: {self.from_status} → {self.to_status}"
