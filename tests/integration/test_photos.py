"""Photo uploads: metadata stripped, bombs and non-images refused, renditions made after commit."""

from __future__ import annotations

import io

import pytest
from django.core.files.storage import default_storage
from PIL import ExifTags, Image

from marketplace.errors import ValidationFailed
from marketplace.models import ListingPhoto
from marketplace.models.listings import private_storage
from marketplace.services.photos import (
    listing_photo_delete,
    listing_photo_set_cover,
    listing_photos_add,
    listing_photos_reorder,
)
from tests.factories import UserFactory
from tests.listings import jpeg_bytes, make_listing

pytestmark = pytest.mark.django_db


def gps_jpeg() -> bytes:
    """A 640×480 camera photo taken in Shanghai, stored sideways (orientation 6)."""
    image = Image.new("RGB", (640, 480), "tomato")
    exif = image.getexif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "TestCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (31.0, 13.0, 48.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (121.0, 28.0, 12.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the fixture really has GPS
    return data


def upload(listing, *blobs: bytes, names=None):
    names = names or [f"photo{i}.jpg" for i in range(len(blobs))]
    return listing_photos_add(
        actor=listing.seller_user,
        listing_id=listing.pk,
        files=[(io.BytesIO(blob), len(blob), name) for blob, name in zip(blobs, names, strict=True)],
    )


def assert_no_metadata(data: bytes) -> None:
    image = Image.open(io.BytesIO(data))
    assert dict(image.getexif()) == {}
    assert "exif" not in image.info and "icc_profile" not in image.info and "xmp" not in image.info
    assert b"Exif" not in data and b"TestCam" not in data


def test_stored_files_carry_no_exif_or_gps_and_orientation_is_applied(django_capture_on_commit_callbacks):
    listing = make_listing(seller=UserFactory())
    with django_capture_on_commit_callbacks(execute=True):
        (photo,) = upload(listing, gps_jpeg())
    photo.refresh_from_db()
    with private_storage().open(photo.original.name, "rb") as handle:
        original = handle.read()
    assert_no_metadata(original)
    assert Image.open(io.BytesIO(original)).size == (480, 640)  # rotated upright
    assert set(photo.renditions) == {"320", "960", "1920"}
    for name in photo.renditions.values():
        with default_storage.open(name, "rb") as handle:
            rendition = handle.read()
        assert Image.open(io.BytesIO(rendition)).format == "WEBP"
        assert_no_metadata(rendition)
    # never wider than the original, and the small one really is small
    widths = {size: Image.open(default_storage.open(name)).width for size, name in photo.renditions.items()}
    assert widths == {"320": 320, "960": 480, "1920": 480}


def test_originals_have_no_public_url():
    listing = make_listing(seller=UserFactory())
    (photo,) = upload(listing, jpeg_bytes())
    with pytest.raises(ValueError):
        photo.original.url  # noqa: B018
    assert not photo.original.path.startswith(str(default_storage.location))


def test_a_decompression_bomb_is_refused_before_decoding_and_nothing_is_saved():
    listing = make_listing(seller=UserFactory())
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, format="PNG")  # 100 megapixels, a few kB on disk
    with pytest.raises(ValidationFailed) as exc:
        upload(listing, jpeg_bytes(), out.getvalue(), names=["ok.jpg", "bomb.png"])
    assert exc.value.details["reason"] == "too_many_pixels"
    assert "bomb.png" in exc.value.message
    assert not ListingPhoto.objects.exists()


def test_a_text_file_renamed_to_jpg_is_refused_and_nothing_is_saved():
    listing = make_listing(seller=UserFactory())
    with pytest.raises(ValidationFailed) as exc:
        upload(listing, b"Totally a photo, honest.\n" * 10, names=["holiday.jpg"])
    assert exc.value.details["reason"] == "not_an_image"
    assert not ListingPhoto.objects.exists()


def test_a_truncated_jpeg_is_refused():
    listing = make_listing(seller=UserFactory())
    with pytest.raises(ValidationFailed):
        upload(listing, jpeg_bytes()[:200])


def test_files_over_the_size_limit_are_refused(settings):
    settings.MARKETPLACE_PHOTO_MAX_BYTES = 1000
    listing = make_listing(seller=UserFactory())
    with pytest.raises(ValidationFailed) as exc:
        upload(listing, jpeg_bytes(size=(800, 800)))
    assert exc.value.details["reason"] == "too_large"


def test_other_users_cannot_add_photos():
    listing = make_listing(seller=UserFactory())
    with pytest.raises(ValidationFailed.__mro__[1]):  # a DomainError (not found / permission)
        listing_photos_add(actor=UserFactory(), listing_id=listing.pk, files=[(io.BytesIO(b"x"), 1, "x.jpg")])


def test_first_photo_is_the_cover_and_cover_and_order_can_change():
    listing = make_listing(seller=UserFactory())
    first, second, third = upload(listing, jpeg_bytes(), jpeg_bytes(colour="navy"), jpeg_bytes(colour="gold"))
    assert [p.is_cover for p in (first, second, third)] == [True, False, False]
    listing_photo_set_cover(actor=listing.seller_user, photo_id=third.pk)
    assert list(ListingPhoto.objects.filter(is_cover=True).values_list("pk", flat=True)) == [third.pk]
    listing_photos_reorder(actor=listing.seller_user, listing_id=listing.pk, photo_ids=[third.pk, first.pk, second.pk])
    assert list(listing.photos.order_by("position").values_list("pk", flat=True)) == [third.pk, first.pk, second.pk]
    listing_photo_delete(actor=listing.seller_user, photo_id=third.pk)
    assert listing.photos.get(is_cover=True).pk == first.pk
