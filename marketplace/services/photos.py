"""Listing photos: checked, normalised and stripped of every metadata block before they
are stored; public WebP renditions are made by a Celery task after commit."""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Sequence
from typing import IO

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from marketplace.errors import Conflict, NotFound, ValidationFailed
from marketplace.models import Listing, ListingPhoto, User
from marketplace.services.listings import listing_get_for_manage
from marketplace.services.outbox import task_enqueue_on_commit
from marketplace.signals import listing_changed

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "MPO"}


class PhotoRejected(ValidationFailed):
    code = "photo_rejected"


def _reject(message: str, code: str) -> PhotoRejected:
    return PhotoRejected(message, details={"fields": {"file": [message]}, "reason": code})


def clean_image(upload: IO[bytes], *, size: int, name: str = "") -> tuple[bytes, int, int]:
    """Return the image re-encoded as JPEG with orientation applied and no metadata, or
    raise PhotoRejected. Pixel count is checked from the header before anything is decoded."""
    if size > settings.MARKETPLACE_PHOTO_MAX_BYTES:
        raise _reject(
            _("“%(name)s” is larger than %(limit)d MB.")
            % {"name": name, "limit": settings.MARKETPLACE_PHOTO_MAX_BYTES // (1024 * 1024)},
            "too_large",
        )
    data = upload.read()
    max_pixels = settings.MARKETPLACE_PHOTO_MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format not in ACCEPTED_FORMATS:
                    raise _reject(_("“%(name)s” is not a JPEG, PNG or WebP photo.") % {"name": name}, "bad_format")
                width, height = probe.size
                if width * height > max_pixels:
                    raise _reject(
                        _("“%(name)s” has too many pixels (%(mp)d megapixels; at most %(limit)d).")
                        % {"name": name, "mp": width * height // 1_000_000, "limit": max_pixels // 1_000_000},
                        "too_many_pixels",
                    )
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                oriented = ImageOps.exif_transpose(image)
                rgb = oriented.convert("RGB")
    except PhotoRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _reject(_("“%(name)s” has too many pixels.") % {"name": name}, "too_many_pixels") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise _reject(_("“%(name)s” is not an image we can read.") % {"name": name}, "not_an_image") from exc
    # A fresh image carries no EXIF, XMP, ICC or GPS block: only the pixels are copied.
    clean = Image.new("RGB", rgb.size)
    clean.paste(rgb)
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=90, optimize=True)
    return out.getvalue(), clean.width, clean.height


@transaction.atomic
def listing_photos_add(
    *, actor: User, listing_id: int, files: Sequence[tuple[IO[bytes], int, str]]
) -> list[ListingPhoto]:
    """Add several photos at once: (file, size, name) each. All are checked before any is
    saved, so one bad file saves nothing."""
    listing = listing_get_for_manage(user=actor, listing_id=listing_id, lock=True)
    if not listing.is_editable:
        raise Conflict(_("Withdraw the listing before changing its photos."), code="listing_not_editable")
    if not files:
        raise _reject(_("Choose at least one photo."), "no_file")
    existing = listing.photos.count()
    if existing + len(files) > settings.MARKETPLACE_PHOTO_MAX_PER_LISTING:
        raise _reject(
            _("A listing can have at most %(limit)d photos.") % {"limit": settings.MARKETPLACE_PHOTO_MAX_PER_LISTING},
            "too_many_photos",
        )
    cleaned = [clean_image(file, size=size, name=name) for file, size, name in files]
    position = (listing.photos.aggregate(m=Max("position"))["m"] or 0) + 1 if existing else 0
    has_cover = listing.photos.filter(is_cover=True).exists()
    photos = []
    for index, (data, width, height) in enumerate(cleaned):
        digest = hashlib.sha256(data).hexdigest()
        photo = ListingPhoto(
            listing=listing,
            sha256=digest,
            width=width,
            height=height,
            position=position + index,
            is_cover=not has_cover and index == 0,
            uploaded_by=actor,
        )
        photo.original.save(f"{listing.pk}-{digest[:16]}.jpg", ContentFile(data), save=False)
        photo.save()
        photos.append(photo)
    from marketplace.tasks import listing_photo_renditions_task

    for photo in photos:
        task_enqueue_on_commit(listing_photo_renditions_task, photo_id=photo.pk)
    return photos


def listing_photo_make_renditions(*, photo_id: int) -> ListingPhoto | None:
    """Write the public WebP renditions of one photo (never wider than the original)."""
    photo = ListingPhoto.objects.filter(pk=photo_id).first()
    if photo is None:
        return None
    renditions: dict[str, str] = {}
    with photo.original.open("rb") as handle, Image.open(handle) as image:
        image.load()
        for width in settings.MARKETPLACE_PHOTO_RENDITION_WIDTHS:
            copy = image.copy()
            copy.thumbnail((width, width * 4))
            out = io.BytesIO()
            copy.save(out, format="WEBP", quality=80, method=4)
            name = f"listings/{photo.listing_id}/{photo.sha256[:16]}-{width}.webp"
            if default_storage.exists(name):
                default_storage.delete(name)
            renditions[str(width)] = default_storage.save(name, ContentFile(out.getvalue()))
    ListingPhoto.objects.filter(pk=photo.pk).update(renditions=renditions)
    photo.renditions = renditions
    listing_id = photo.listing_id
    transaction.on_commit(lambda: listing_changed.send(sender=Listing, listing_id=listing_id))
    return photo


def _photo_for_manage(*, actor: User, photo_id: int) -> ListingPhoto:
    photo = ListingPhoto.objects.filter(pk=photo_id).first()
    if photo is None:
        raise NotFound(_("No such photo."))
    listing = listing_get_for_manage(user=actor, listing_id=photo.listing_id, lock=True)
    if not listing.is_editable:
        raise Conflict(_("Withdraw the listing before changing its photos."), code="listing_not_editable")
    return photo


@transaction.atomic
def listing_photo_set_cover(*, actor: User, photo_id: int) -> ListingPhoto:
    photo = _photo_for_manage(actor=actor, photo_id=photo_id)
    ListingPhoto.objects.filter(listing_id=photo.listing_id, is_cover=True).update(is_cover=False)
    ListingPhoto.objects.filter(pk=photo.pk).update(is_cover=True)
    photo.is_cover = True
    return photo


@transaction.atomic
def listing_photos_reorder(*, actor: User, listing_id: int, photo_ids: Sequence[int]) -> None:
    listing = listing_get_for_manage(user=actor, listing_id=listing_id, lock=True)
    current = list(listing.photos.order_by("position", "pk"))
    if sorted(photo_ids) != sorted(photo.pk for photo in current):
        raise ValidationFailed(_("Give every photo of the listing exactly once."))
    by_id = {photo.pk: photo for photo in current}
    for position, photo_id in enumerate(photo_ids):
        by_id[photo_id].position = position
    ListingPhoto.objects.bulk_update(current, ["position"])


@transaction.atomic
def listing_photo_delete(*, actor: User, photo_id: int) -> None:
    photo = _photo_for_manage(actor=actor, photo_id=photo_id)
    was_cover = photo.is_cover
    listing_id = photo.listing_id
    names = [photo.original.name, *photo.renditions.values()]
    photo.delete()
    if was_cover:
        first = ListingPhoto.objects.filter(listing_id=listing_id).order_by("position", "pk").first()
        if first is not None:
            ListingPhoto.objects.filter(pk=first.pk).update(is_cover=True)

    def remove_files() -> None:
        from marketplace.models.listings import private_storage

        private_storage().delete(names[0])
        for name in names[1:]:
            default_storage.delete(name)

    transaction.on_commit(remove_files)
