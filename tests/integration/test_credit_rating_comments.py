"""A rating may carry a short comment. It is screened like messages (contact and payment
details are refused, and nothing is saved), and it appears on the rated party's public
profile only once both have rated or the rating window has closed."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from marketplace.credit.models import Rating
from marketplace.credit.services import rating_submit, ratings_reveal_due
from marketplace.errors import ValidationFailed
from marketplace.models import OrderStatus
from marketplace.services.orders import order_handover_confirm, order_place
from tests.factories import UserFactory
from tests.orders import published_listing

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english", "immediate_on_commit")]

PRAISE = "Well packed, exactly as graded. Thank you!"


@pytest.fixture
def order():
    seller, buyer = UserFactory(display_name="Seller Li"), UserFactory(display_name="Buyer Zhang")
    listing = published_listing(seller=seller, price=4500, title="红楼梦 全四册")
    placed = order_place(buyer=buyer, listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    completed = order_handover_confirm(seller=seller, order_id=placed.pk, code=placed.handshake_code)
    assert completed.status == OrderStatus.COMPLETED
    return completed


def client_for(user):
    client = Client()
    client.cookies["django_language"] = "en"
    client.force_login(user)
    return client


def rate_form(*, buyer: bool, comment: str = "") -> dict[str, str]:
    form = {"stars": "5", "communication": "5", "speed": "5", "comment": comment}
    if buyer:
        form["as_described"] = "5"
    return form


def profile(user) -> str:
    return Client().get(f"/users/{user.pk}/", HTTP_COOKIE="django_language=en").content.decode()


def test_the_comment_is_saved_from_the_rating_form_and_shown_once_both_have_rated(order):
    seller, buyer = order.seller_user, order.buyer
    form_page = client_for(buyer).get(f"/orders/{order.pk}/rate/").content.decode()
    assert 'name="comment"' in form_page and 'maxlength="280"' in form_page

    response = client_for(buyer).post(f"/orders/{order.pk}/rate/", rate_form(buyer=True, comment=f"  {PRAISE} "))
    assert response.status_code == 302
    assert Rating.objects.get(order=order, rater=buyer).comment == PRAISE
    assert PRAISE not in profile(seller)  # sealed: the seller has not rated yet
    assert PRAISE not in client_for(seller).get(f"/orders/{order.pk}/rate/").content.decode()

    client_for(seller).post(f"/orders/{order.pk}/rate/", rate_form(buyer=False, comment="Quick to pick up."))
    shown = profile(seller)
    assert PRAISE in shown and "From a buyer" in shown
    assert "Quick to pick up." in profile(buyer) and "Quick to pick up." not in shown
    assert PRAISE in client_for(seller).get(f"/orders/{order.pk}/rate/").content.decode()


def test_the_comment_shows_when_the_window_closes_without_the_other_rating(order):
    rating_submit(
        user=order.buyer, order_id=order.pk, stars=4, communication=4, speed=4, as_described=4, comment=PRAISE
    )
    assert PRAISE not in profile(order.seller_user)
    with time_machine.travel(timezone.now() + dt.timedelta(days=14, hours=1)):
        assert ratings_reveal_due() == 1
    assert PRAISE in profile(order.seller_user)


@pytest.mark.parametrize(
    "comment",
    ["加我微信 wxid_abc12345 便宜点", "Call me on 138 1234 5678 instead", "Pay to card 4111 1111 1111 1111 please"],
)
def test_a_comment_with_contact_or_payment_details_is_refused_and_nothing_is_saved(order, comment):
    with pytest.raises(ValidationFailed) as refused:
        rating_submit(
            user=order.buyer, order_id=order.pk, stars=5, communication=5, speed=5, as_described=5, comment=comment
        )
    assert refused.value.code == "rating_comment_blocked"
    assert "contact and payment details are not allowed" in refused.value.message
    assert not Rating.objects.filter(order=order).exists()

    response = client_for(order.buyer).post(f"/orders/{order.pk}/rate/", rate_form(buyer=True, comment=comment))
    assert "contact and payment details are not allowed" in response.content.decode()
    assert not Rating.objects.filter(order=order).exists()


def test_a_comment_too_long_is_refused_and_nothing_is_saved(order):
    response = client_for(order.buyer).post(f"/orders/{order.pk}/rate/", rate_form(buyer=True, comment="好" * 281))
    assert response.status_code == 422
    assert not Rating.objects.filter(order=order).exists()
    with pytest.raises(ValidationFailed):
        rating_submit(
            user=order.buyer, order_id=order.pk, stars=5, communication=5, speed=5, as_described=5, comment="好" * 281
        )
    assert not Rating.objects.filter(order=order).exists()


def test_a_revealed_comment_cannot_be_rewritten(order):
    rating_submit(
        user=order.buyer, order_id=order.pk, stars=4, communication=4, speed=4, as_described=4, comment=PRAISE
    )
    rating_submit(user=order.seller_user, order_id=order.pk, stars=5, communication=5, speed=5)
    with pytest.raises(ValidationFailed):
        rating_submit(
            user=order.buyer, order_id=order.pk, stars=5, communication=5, speed=5, as_described=5, comment="Changed"
        )
    rating = Rating.objects.get(order=order, rater=order.buyer)
    assert (rating.comment, rating.stars) == (PRAISE, 4)
