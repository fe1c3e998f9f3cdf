"""Listing pages: selling, managing, photos, the public detail page and browsing.

Thin: parse the form, call a service or selector, render. Domain errors become field
errors (ValidationFailed), flash messages (Conflict and the like) or a 404 (NotFound,
PermissionDenied: a listing one may not manage is not shown to exist)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.paginator import Paginator
from django.forms.utils import pretty_name
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from marketplace import page_cache
from marketplace.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import attach_badges, panels_for
from marketplace.forms.listings import ATTRIBUTE_FORMS, COMMON_FIELDS, ListingPageForm
from marketplace.forms.moderation import ReportForm
from marketplace.gates import BlockingReason, evaluate_gates
from marketplace.listing_display import attribute_rows, field_label
from marketplace.models import (
    ALLOWED_TRANSITIONS,
    Category,
    Listing,
    ListingPhoto,
    ListingStatus,
    Organisation,
    OrganisationKind,
    User,
)
from marketplace.pagination import CappedPaginator
from marketplace.selectors import (
    BrowseFilters,
    browse_cities,
    listing_cover,
    listing_detail,
    listing_ids_browse,
    listings_by_ids,
    listings_managed_by,
    user_memberships,
)
from marketplace.services.books import book_details_filled
from marketplace.services.listings import (
    CONSIGNOR_NOT_AGREED,
    PUBLISHABLE_FROM,
    SHOP_MANAGER_ROLES,
    PublicationBlocked,
    consignor_for_shop,
    listing_can_view,
    listing_create,
    listing_get_for_manage,
    listing_publish,
    listing_reopen,
    listing_update,
    listing_withdraw,
)
from marketplace.services.moderation import listing_report_create
from marketplace.services.photos import (
    listing_photo_delete,
    listing_photo_set_cover,
    listing_photos_add,
    listing_photos_reorder,
)
from marketplace.views.books import PageLookup, page_lookup

MY_LISTINGS_PER_PAGE = 20
BROWSE_PER_PAGE = 24
ATTRIBUTE_PREFIX = "attributes"
# The book form's "Look up" button: fills the book's details from the ISBN without saving.
BOOK_LOOKUP_BUTTON = "isbn_lookup"
REOPENABLE = frozenset({ListingStatus.WITHDRAWN, ListingStatus.EXPIRED})
GALLERY_WIDTH = "960"

CATEGORY_BLURBS: dict[str, Any] = {
    Category.ELECTRONICS: gettext_lazy(
        "Phones, computers, cameras. Devices that store personal data need a data-erasure certificate."
    ),
    Category.FURNITURE: gettext_lazy("Sofas, tables, wardrobes. Give the dimensions and the material."),
    Category.BOOKS: gettext_lazy("Textbooks, novels, picture books. The ISBN fills in what the book is."),
    Category.VEHICLES: gettext_lazy("Cars with their VIN, registration and emission standard (at least 3 photos)."),
}


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _not_found_on_denial(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A listing the user may not manage looks the same as one that does not exist."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except (NotFound, PermissionDenied) as exc:
            raise Http404(exc.message) from exc

    return wrapper


# --- Forms that only the pages need ---------------------------------------------------


class SellAsForm(forms.Form):
    """Shown to owners and staff of consignment shops: sell for oneself or for the shop,
    optionally on behalf of a consignor who accepted the shop's consignment agreement."""

    sell_as = forms.ChoiceField()  # choices are the user's shops, set in __init__
    consignor_email = forms.EmailField(
        label=gettext_lazy("Consignor's e-mail address (optional)"),
        required=False,
        help_text=gettext_lazy(
            "For items a consignor brought to the shop; they must have accepted the shop's consignment agreement."
        ),
    )

    def __init__(self, *args: Any, shops: Sequence[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shops = {str(shop.pk): shop for shop in shops}
        self.fields["sell_as"] = forms.ChoiceField(
            label=gettext_lazy("Sell as"),
            required=False,
            initial="",
            widget=forms.RadioSelect,
            choices=[("", _("Myself")), *((str(shop.pk), shop.name) for shop in shops)],
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        shop = self.shops.get(cleaned.get("sell_as") or "")
        email = cleaned.get("consignor_email")
        consignor = None
        if email:
            if shop is None:
                self.add_error("consignor_email", _("Only a shop takes items on consignment: choose the shop above."))
            else:
                consignor = consignor_for_shop(shop=shop, email=email)
                if consignor is None:
                    self.add_error("consignor_email", str(CONSIGNOR_NOT_AGREED))
        cleaned["shop"] = shop
        cleaned["consignor"] = consignor
        return cleaned


class BrowseForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("Search"), required=False, max_length=100)
    category = forms.ChoiceField()  # choices set in __init__
    city = forms.ChoiceField()
    price_min = forms.DecimalField(
        label=gettext_lazy("Lowest price (¥)"), required=False, min_value=Decimal(0), max_digits=12, decimal_places=2
    )
    price_max = forms.DecimalField(
        label=gettext_lazy("Highest price (¥)"), required=False, min_value=Decimal(0), max_digits=12, decimal_places=2
    )
    sort = forms.ChoiceField(
        label=gettext_lazy("Sort by"),
        required=False,
        choices=[
            ("newest", gettext_lazy("Newest first")),
            ("price_asc", gettext_lazy("Price: low to high")),
            ("price_desc", gettext_lazy("Price: high to low")),
        ],
    )

    def __init__(self, *args: Any, cities: Sequence[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"] = forms.ChoiceField(
            label=gettext_lazy("Category"), required=False, choices=[("", _("All categories")), *Category.choices]
        )
        self.fields["city"] = forms.ChoiceField(
            label=gettext_lazy("City"), required=False, choices=[("", _("All cities")), *((c, c) for c in cities)]
        )

    def filters(self) -> BrowseFilters:
        """The filters from the fields that are valid; invalid ones are left out."""
        self.is_valid()
        cleaned = self.cleaned_data
        return BrowseFilters(
            category=cleaned.get("category") or "",
            city=cleaned.get("city") or "",
            price_min=_fen(cleaned.get("price_min")),
            price_max=_fen(cleaned.get("price_max")),
            query=(cleaned.get("q") or "").strip(),
            sort=cleaned.get("sort") or "newest",
        )


def _search_url(filters: BrowseFilters) -> str:
    params: dict[str, str] = {"q": filters.query}
    if filters.category:
        params["category"] = filters.category
    if filters.city:
        params["city"] = filters.city
    if filters.price_min is not None:
        params["price_min"] = str(filters.price_min // 100)
    if filters.price_max is not None:
        params["price_max"] = str(-(-filters.price_max // 100))  # whole yuan, rounded up
    if filters.sort != "newest":
        params["sort"] = filters.sort  # the search page knows the same price orders
    return f"{reverse('search')}?{urlencode(params)}"


def _fen(yuan: Decimal | None) -> int | None:
    return None if yuan is None else int(yuan * 100)


# --- Listing form helpers -------------------------------------------------------------


def _attribute_form(category: str, data: Any = None, instance: Any = None) -> forms.ModelForm:
    return ATTRIBUTE_FORMS[category](data, prefix=ATTRIBUTE_PREFIX, instance=instance)


def _show_typed(form: forms.BaseForm, data: Any) -> None:
    """Show an unbound form with what was typed in `data`, without error messages: the
    seller pressed "Look up", not "Save"."""
    form.initial = {
        **form.initial,
        **{
            name: field.widget.value_from_datadict(data, {}, form.add_prefix(name))
            for name, field in form.fields.items()
        },
    }


def _book_lookup_forms(
    request: HttpRequest, form: ListingPageForm, attribute_form: forms.ModelForm, sell_as_form: forms.Form | None
) -> PageLookup:
    """The "Look up" step of the book form (no JavaScript needed): the forms show what was
    typed, with the book's details filled in from its ISBN when it is known."""
    for typed in (form, attribute_form, sell_as_form):
        if typed is not None:
            _show_typed(typed, request.POST)
    lookup = page_lookup(request, request.POST.get(attribute_form.add_prefix("isbn"), ""))
    if lookup.error:
        attribute_form.cleaned_data = {}  # an unbound form has none; add_error expects it
        attribute_form.add_error("isbn", lookup.error)
    elif lookup.result is not None:
        attribute_form.initial["isbn"] = lookup.result.isbn
        book = lookup.result.book
        if book is not None:
            attribute_form.initial.update(
                book_title=book.title, authors=list(book.authors), publisher=book.publisher, year=book.year
            )
    return lookup


def _common_data(form: ListingPageForm) -> dict[str, Any]:
    """The cleaned common fields, with the price in fen."""
    return {name: form.cleaned_data[name] for name in COMMON_FIELDS if name in form.cleaned_data}


def _attribute_data(form: forms.ModelForm, request: HttpRequest) -> dict[str, Any]:
    """The attribute fields as the posted form holds them, without the prefix. Each
    widget reads its own value, so an unticked box is an explicit False."""
    return {
        name: field.widget.value_from_datadict(form.data, request.FILES, form.add_prefix(name))
        for name, field in form.fields.items()
    }


def _with_catalogue_details(data: QueryDict) -> QueryDict:
    """The posted book form with the book's details the seller left blank filled in from
    the local catalogue, so the page shows them too (a seller may type only the ISBN)."""
    names = ("isbn", "book_title", "authors", "publisher", "year")
    typed = {name: data.get(f"{ATTRIBUTE_PREFIX}-{name}", "") for name in names}
    filled = book_details_filled(typed)
    if filled == typed:
        return data
    data = data.copy()
    for name, value in filled.items():
        if value != typed[name]:
            data[f"{ATTRIBUTE_PREFIX}-{name}"] = "、".join(value) if isinstance(value, list) else str(value)
    return data


def _add_error_once(form: forms.BaseForm, field_name: str | None, message: str) -> None:
    current = list(form.errors.get(field_name or NON_FIELD_ERRORS, []))
    if message not in current:
        form.add_error(field_name, message)


def _show_validation_errors(exc: ValidationFailed, form: ListingPageForm, attribute_form: forms.ModelForm) -> None:
    """Put the service's field errors next to the fields they belong to."""
    fields: dict[str, list[str]] = exc.details.get("fields") or {}
    if not fields:
        _add_error_once(form, None, exc.message)
    for key, errors in fields.items():
        target: forms.BaseForm
        if key.startswith(f"{ATTRIBUTE_PREFIX}."):
            target, name = attribute_form, key.removeprefix(f"{ATTRIBUTE_PREFIX}.")
        elif key == "title" and "title" not in form.fields and "book_title" in attribute_form.fields:
            target, name = attribute_form, "book_title"  # a book listing's title is its book title
        else:
            target, name = form, "price_yuan" if key == "price" else key
        for message in errors:
            _add_error_once(target, name if name in target.fields else None, message)


def _managed_shops(user: User) -> list[Organisation]:
    shops: dict[int, Organisation] = {}
    for membership in user_memberships(user=user):
        organisation = membership.organisation
        if membership.role in SHOP_MANAGER_ROLES and organisation.kind == OrganisationKind.CONSIGNMENT_SHOP:
            shops[organisation.pk] = organisation
    return list(shops.values())


# --- Selling ----------------------------------------------------------------------------


@login_required
@require_GET
def sell_choose_category(request: HttpRequest) -> HttpResponse:
    categories = [(value, label, CATEGORY_BLURBS[value]) for value, label in Category.choices]
    return render(request, "marketplace/listings/sell_choose.html", {"categories": categories})


@login_required
@require_http_methods(["GET", "POST"])
def sell_create(request: HttpRequest, category: str) -> HttpResponse:
    if category not in Category.values:
        raise Http404(_("Unknown category."))
    user = _user(request)
    shops = _managed_shops(user)
    looking_up = request.method == "POST" and category == Category.BOOKS and BOOK_LOOKUP_BUTTON in request.POST
    data: QueryDict | None = request.POST if request.method == "POST" and not looking_up else None
    if data is not None and category == Category.BOOKS:
        data = _with_catalogue_details(data)
    form = ListingPageForm(data, category=category)
    attribute_form = _attribute_form(category, data)
    sell_as_form = SellAsForm(data, shops=shops, prefix="seller") if shops else None
    book_lookup = _book_lookup_forms(request, form, attribute_form, sell_as_form) if looking_up else None
    if data is not None and form.is_valid() and (sell_as_form is None or sell_as_form.is_valid()):
        seller = sell_as_form.cleaned_data if sell_as_form is not None else {}
        try:
            listing = listing_create(
                actor=user,
                category=category,
                data=_common_data(form),
                attributes=_attribute_data(attribute_form, request),
                seller_organisation=seller.get("shop"),
                consignor=seller.get("consignor"),
            )
        except ValidationFailed as exc:
            _show_validation_errors(exc, form, attribute_form)
        except PermissionDenied as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request, _("Your listing was saved as a draft. Add photos, then publish it when nothing blocks it.")
            )
            return redirect("listing_manage", pk=listing.pk)
    return render(
        request,
        "marketplace/listings/form.html",
        {
            "form": form,
            "attribute_form": attribute_form,
            "sell_as_form": sell_as_form,
            "category": category,
            "category_label": Category(category).label,
            "listing": None,
            "book_lookup": book_lookup,
            "book_lookup_button": BOOK_LOOKUP_BUTTON,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
@_not_found_on_denial
def listing_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    listing = listing_get_for_manage(user=user, listing_id=pk)
    if not listing.is_editable:
        messages.warning(request, _("Withdraw the listing before you edit it."))
        return redirect("listing_manage", pk=listing.pk)
    looking_up = request.method == "POST" and listing.category == Category.BOOKS and BOOK_LOOKUP_BUTTON in request.POST
    data: QueryDict | None = request.POST if request.method == "POST" and not looking_up else None
    if data is not None and listing.category == Category.BOOKS:
        data = _with_catalogue_details(data)
    form = ListingPageForm(data, category=listing.category, instance=listing)
    attribute_form = _attribute_form(listing.category, data, instance=listing.attributes)
    book_lookup = _book_lookup_forms(request, form, attribute_form, None) if looking_up else None
    if data is not None and form.is_valid():
        try:
            listing_update(
                actor=user,
                listing_id=listing.pk,
                data=_common_data(form),
                attributes=_attribute_data(attribute_form, request),
            )
        except ValidationFailed as exc:
            _show_validation_errors(exc, form, attribute_form)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("listing_manage", pk=listing.pk)
        else:
            messages.success(request, _("Your changes were saved."))
            return redirect("listing_manage", pk=listing.pk)
    return render(
        request,
        "marketplace/listings/form.html",
        {
            "form": form,
            "attribute_form": attribute_form,
            "sell_as_form": None,
            "category": listing.category,
            "category_label": Category(listing.category).label,
            "listing": listing,
            "book_lookup": book_lookup,
            "book_lookup_button": BOOK_LOOKUP_BUTTON,
        },
    )


# --- The seller's listings --------------------------------------------------------------


@dataclass(frozen=True)
class ManagedRow:
    listing: Listing
    cover: ListingPhoto | None
    thumbnail: str | None
    blocking: list[BlockingReason]


@login_required
@require_GET
def my_listings(request: HttpRequest) -> HttpResponse:
    page = Paginator(listings_managed_by(user=_user(request)), MY_LISTINGS_PER_PAGE).get_page(request.GET.get("page"))
    listings = list(page.object_list)
    # One batched evaluation for the whole page: a fixed number of queries.
    blocking = evaluate_gates(listings)
    attach_badges(listings)
    rows = []
    for listing in listings:
        cover = listing_cover(listing)
        rows.append(
            ManagedRow(
                listing=listing,
                cover=cover,
                thumbnail=cover.rendition_url(320) if cover else None,
                blocking=blocking[listing.pk] if listing.status in PUBLISHABLE_FROM else [],
            )
        )
    return render(request, "marketplace/listings/mine.html", {"page": page, "rows": rows})


@dataclass(frozen=True)
class ManagedPhoto:
    photo: ListingPhoto
    thumbnail: str | None
    order_up: list[int] = field(default_factory=list)
    order_down: list[int] = field(default_factory=list)


def _swapped(ids: list[int], i: int, j: int) -> list[int]:
    order = list(ids)
    order[i], order[j] = order[j], order[i]
    return order


def _managed_photos(photos: list[ListingPhoto]) -> list[ManagedPhoto]:
    """Each photo with the full photo order that "move up" and "move down" would post."""
    ids = [photo.pk for photo in photos]
    rows = []
    for index, photo in enumerate(photos):
        up = _swapped(ids, index, index - 1) if index > 0 else []
        down = _swapped(ids, index, index + 1) if index < len(ids) - 1 else []
        rows.append(ManagedPhoto(photo=photo, thumbnail=photo.rendition_url(320), order_up=up, order_down=down))
    return rows


@login_required
@require_GET
@_not_found_on_denial
def listing_manage(request: HttpRequest, pk: int) -> HttpResponse:
    listing = listing_get_for_manage(user=_user(request), listing_id=pk)
    photos = list(listing.photos.order_by("position", "pk"))
    history = list(listing.status_history.order_by("-created_at", "-pk"))
    blocking = evaluate_gates([listing])[listing.pk] if listing.status in PUBLISHABLE_FROM else []
    allowed = ALLOWED_TRANSITIONS.get(listing.status, frozenset())
    return render(
        request,
        "marketplace/listings/manage.html",
        {
            "listing": listing,
            "photos": _managed_photos(photos),
            "history": history,
            "blocking": blocking,
            "can_publish": listing.status in PUBLISHABLE_FROM,
            "can_withdraw": ListingStatus.WITHDRAWN in allowed,
            "can_reopen": listing.status in REOPENABLE,
            "panels": panels_for(listing, _user(request), "manage"),
        },
    )


def _back_to_manage(pk: int) -> HttpResponse:
    return redirect("listing_manage", pk=pk)


@login_required
@require_POST
@_not_found_on_denial
def listing_publish_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        listing_publish(actor=_user(request), listing_id=pk)
    except PublicationBlocked as exc:
        messages.error(request, exc.message)
        for reason in exc.reasons:
            messages.error(request, reason.message)
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Your listing is published."))
    return _back_to_manage(pk)


@login_required
@require_POST
@_not_found_on_denial
def listing_withdraw_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        listing_withdraw(actor=_user(request), listing_id=pk)
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Your listing was withdrawn; buyers no longer see it."))
    return _back_to_manage(pk)


@login_required
@require_POST
@_not_found_on_denial
def listing_reopen_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        listing_reopen(actor=_user(request), listing_id=pk)
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Your listing is a draft again: edit it, then publish."))
    return _back_to_manage(pk)


# --- Photos -----------------------------------------------------------------------------


def _photo_action(request: HttpRequest, pk: int, action: Callable[[], object], success: str) -> HttpResponse:
    try:
        action()
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)
    return _back_to_manage(pk)


@login_required
@require_POST
@_not_found_on_denial
def listing_photos_upload(request: HttpRequest, pk: int) -> HttpResponse:
    uploads = request.FILES.getlist("file")
    files = [(upload, upload.size or 0, upload.name or "") for upload in uploads]
    return _photo_action(
        request,
        pk,
        lambda: listing_photos_add(actor=_user(request), listing_id=pk, files=files),
        _("Photos added. Buyers see them once they are processed."),
    )


@login_required
@require_POST
@_not_found_on_denial
def listing_photos_order(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        photo_ids = [int(value) for value in request.POST.getlist("order")]
    except ValueError as exc:
        raise Http404(_("No such photo.")) from exc
    return _photo_action(
        request,
        pk,
        lambda: listing_photos_reorder(actor=_user(request), listing_id=pk, photo_ids=photo_ids),
        _("The photo order was saved."),
    )


def _check_photo_belongs(pk: int, photo_id: int) -> None:
    if not ListingPhoto.objects.filter(pk=photo_id, listing_id=pk).exists():
        raise Http404(_("No such photo."))


@login_required
@require_POST
@_not_found_on_denial
def listing_photo_cover(request: HttpRequest, pk: int, photo_id: int) -> HttpResponse:
    _check_photo_belongs(pk, photo_id)
    return _photo_action(
        request,
        pk,
        lambda: listing_photo_set_cover(actor=_user(request), photo_id=photo_id),
        _("The cover photo was changed."),
    )


@login_required
@require_POST
@_not_found_on_denial
def listing_photo_remove(request: HttpRequest, pk: int, photo_id: int) -> HttpResponse:
    _check_photo_belongs(pk, photo_id)
    return _photo_action(
        request,
        pk,
        lambda: listing_photo_delete(actor=_user(request), photo_id=photo_id),
        _("The photo was deleted."),
    )


# --- Public pages -----------------------------------------------------------------------


@dataclass(frozen=True)
class GalleryImage:
    src: str | None  # None while the renditions are being made
    srcset: str = ""
    # The original's size: renditions keep its aspect ratio, so the browser reserves the
    # photo's box before it loads and the page does not jump (layout shift).
    width: int | None = None
    height: int | None = None


def _gallery(photos: list[ListingPhoto]) -> list[GalleryImage]:
    images = []
    for photo in photos:
        urls = photo.rendition_urls
        if not urls:
            images.append(GalleryImage(src=None))
            continue
        src = urls.get(GALLERY_WIDTH) or urls[max(urls, key=int)]
        srcset = ", ".join(f"{url} {width}w" for width, url in urls.items())
        images.append(GalleryImage(src=src, srcset=srcset, width=photo.width or None, height=photo.height or None))
    return images


def delivery_labels(listing: Listing) -> list[str]:
    meta = Listing._meta
    return [
        field_label(meta.get_field(name))
        for name in ("delivery_ship", "delivery_pickup", "delivery_event")
        if getattr(listing, name)
    ]


@require_GET
@page_cache.cache_public_page(lambda request, pk: (page_cache.listing_scope(pk), page_cache.SITE))
def listing_public(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    listing = listing_detail(listing_id=pk)
    if listing is None or not listing_can_view(user=user, listing=listing):
        raise Http404(_("No such listing."))
    attach_badges([listing])
    response = render(
        request,
        "marketplace/listings/detail.html",
        {
            "listing": listing,
            # Personal panels (the buy panel), the "Manage" link and the report form are
            # personal parts (marketplace/personal_parts.py): the rest is the same for all.
            "panels": panels_for(listing, user, "detail"),
            "gallery": _gallery(list(listing.photos.all())),
            "attribute_rows": attribute_rows(listing),
            "delivery": delivery_labels(listing),
        },
    )
    # A listing that is not public is shown to its seller and moderators only: never shared.
    response.page_cache_members = listing.is_public  # type: ignore[attr-defined]
    return response


@login_required
@require_POST
def listing_report(request: HttpRequest, pk: int) -> HttpResponse:
    form = ReportForm(request.POST, prefix="report")
    if not form.is_valid():
        messages.error(request, _("Choose a reason for the report."))
        return redirect("listing_detail", pk=pk)
    try:
        listing_report_create(
            reporter=_user(request),
            listing_id=pk,
            reason=form.cleaned_data["reason"],
            details=form.cleaned_data["details"],
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Thank you. Moderators will look at this listing."))
    return redirect("listing_detail", pk=pk)


@dataclass(frozen=True)
class BrowseCard:
    listing: Listing
    has_photo: bool
    thumbnail: str | None  # None while the cover's renditions are being made


@require_GET
@page_cache.cache_public_page(lambda request: (page_cache.LISTINGS, page_cache.SITE), members=True)
def browse(request: HttpRequest) -> HttpResponse:
    form = BrowseForm(request.GET, cities=browse_cities())
    filters = form.filters()
    if filters.query:
        # Words are the search engine's job (ranked, indexed; a substring filter here read
        # every listing on sale): the same filters go to the search page.
        return redirect(_search_url(filters))
    ignored = [(str(form.fields[name].label or pretty_name(name)), errors[0]) for name, errors in form.errors.items()]
    paginator = CappedPaginator(listing_ids_browse(filters=filters), BROWSE_PER_PAGE, load=listings_by_ids)
    page = paginator.get_page(request.GET.get("page"))
    listings = list(page.object_list)
    attach_badges(listings)
    cards = []
    for listing in listings:
        cover = listing_cover(listing)
        cards.append(
            BrowseCard(
                listing=listing, has_photo=cover is not None, thumbnail=cover.rendition_url(320) if cover else None
            )
        )
    return render(
        request,
        "marketplace/listings/browse.html",
        {"form": form, "page": page, "cards": cards, "ignored": ignored},
    )
