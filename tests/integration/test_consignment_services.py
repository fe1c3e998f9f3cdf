"""Consignment through the services: agreements, intake, markdowns by a frozen clock,
expiry, the split of a real sale in the ledger, payouts."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from marketplace.consignment.models import (
    ConsignmentAgreement,
    ConsignmentItem,
    ConsignorPayout,
    ExpiryAction,
    IntakeBatch,
    ItemStatus,
)
from marketplace.consignment.rules import Step, Tier
from marketplace.consignment.selectors import balance_for
from marketplace.consignment.services import (
    IntakeLine,
    agreement_accept,
    agreement_invite,
    batch_publish,
    consignment_markdowns_run,
    consignor_payout_record,
    intake_batch_create,
)
from marketplace.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.models import LedgerAccount, LedgerEntry, Listing, ListingStatus, Order, Role
from marketplace.services.ledger import ledger_reconcile, order_balances
from marketplace.services.orders import order_handover_confirm, order_place
from marketplace.signals import listing_changed
from tests.conftest import CORE_GATES
from tests.factories import MembershipFactory, UserFactory
from tests.listings import add_photos

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english", "immediate_on_commit")]

BOOK = {"isbn": "9787020002207", "language": "zh"}


def make_shop(**org):
    membership = MembershipFactory(
        role=Role.STAFF,
        organisation__verified_at=timezone.now(),
        organisation__city="上海市",
        organisation__district="徐汇区",
        **{f"organisation__{k}": v for k, v in org.items()},
    )
    return membership.organisation, membership.user


def make_agreement(shop, staff, consignor=None, **terms):
    consignor = consignor or UserFactory(display_name="寄卖人小林")
    kwargs = {
        "tiers": [Tier(50_000, 6000), Tier(None, 7000)],
        "steps": [Step(30, 1000), Step(60, 2000)],
        "floor_percent_bp": 8500,
        "expiry_days": 90,
        "expiry_action": ExpiryAction.RETURN,
        "payout_threshold": 1_000,
        **terms,
    }
    invitation = agreement_invite(actor=staff, shop=shop, email=consignor.email, **kwargs)
    return agreement_accept(consignor=consignor, agreement_id=invitation.pk)


def book_line(title="三体 全三册", price=10_000, **extra):
    return IntakeLine(
        title=title,
        category="books",
        price=price,
        condition_notes="书脊轻微磨损",
        attributes={**BOOK, "book_title": title, **extra},
    )


def sell_in_cash(item: ConsignmentItem, staff, buyer=None, settings=None):
    """Photos, publication through the core gates, a cash order handed over."""
    add_photos(item.listing)
    settings.MARKETPLACE_PUBLICATION_GATES = CORE_GATES
    batch_publish(actor=staff, batch_id=item.batch_id)
    buyer = buyer or UserFactory()
    order = order_place(buyer=buyer, listing_id=item.listing_id, delivery_method="pickup", payment_method="cash")
    return order_handover_confirm(seller=staff, order_id=order.pk, code=order.handshake_code)


@pytest.fixture
def shop_and_staff():
    return make_shop()


# --- Agreements ---------------------------------------------------------------------------------


def test_an_agreement_with_invalid_terms_is_refused_with_field_errors(shop_and_staff):
    shop, staff = shop_and_staff
    with pytest.raises(ValidationFailed) as error:
        make_agreement(
            shop,
            staff,
            tiers=[Tier(50_000, 6000)],  # no open-ended tier
            steps=[Step(30, 2000), Step(60, 1000)],  # smaller markdown later
            floor_price=5_000,
            floor_percent_bp=5_000,
        )
    fields = error.value.details["fields"]
    assert "Exactly one tier must have no upper price" in fields["tiers"][0]
    assert "Each later markdown must be larger" in fields["steps"][0]
    assert "not both" in fields["floor"][0]
    assert not ConsignmentAgreement.objects.exists()


def test_only_the_shops_staff_make_agreements_and_only_one_is_active(shop_and_staff):
    shop, staff = shop_and_staff
    outsider = UserFactory()
    with pytest.raises(PermissionDenied):
        make_agreement(shop, outsider)
    _other_shop, other_staff = make_shop()
    with pytest.raises(PermissionDenied):
        make_agreement(shop, other_staff)
    agreement = make_agreement(shop, staff)
    with pytest.raises(Conflict):
        make_agreement(shop, staff, consignor=agreement.consignor)


# --- Intake ---------------------------------------------------------------------------------------


def test_intake_makes_shop_listings_with_the_consignor_and_item_codes(shop_and_staff):
    shop, staff = shop_and_staff
    agreement = make_agreement(shop, staff)
    batch = intake_batch_create(
        actor=staff,
        agreement_id=agreement.pk,
        lines=[
            book_line(),
            IntakeLine(
                title="宜家 书桌",
                category="furniture",
                price=30_000,
                attributes={
                    "furniture_type": "desk",
                    "material": "松木",
                    "width_cm": 120,
                    "depth_cm": 60,
                    "height_cm": 75,
                    "assembly_state": "assembled",
                },
            ),
            IntakeLine(
                title="索尼 相机",
                category="electronics",
                price=80_000,
                attributes={"device_type": "camera", "brand": "Sony", "model_name": "A7", "serial_number": "S1"},
            ),
        ],
    )
    items = list(batch.items.select_related("listing").order_by("item_code"))
    assert [item.item_code for item in items] == [f"XH{shop.pk}-{batch.pk:04d}-0{n}" for n in (1, 2, 3)]
    for item in items:
        assert item.listing.seller_organisation == shop
        assert item.listing.consignor == agreement.consignor
        assert item.listing.status == ListingStatus.DRAFT
        assert item.original_price == item.listing.price
        assert item.status == ItemStatus.ON_SALE
        assert item.expiry_action == ExpiryAction.RETURN
    assert items[0].listing.description == "书脊轻微磨损"


def test_one_bad_item_saves_nothing_and_says_which(shop_and_staff):
    shop, staff = shop_and_staff
    agreement = make_agreement(shop, staff)
    with pytest.raises(ValidationFailed) as error:
        intake_batch_create(
            actor=staff,
            agreement_id=agreement.pk,
            lines=[book_line(), IntakeLine(title="没有 ISBN 的书", category="books", price=2_000, attributes={})],
        )
    assert "items.2.attributes.isbn" in error.value.details["fields"]
    assert not Listing.objects.exists()
    assert not IntakeBatch.objects.exists()
    assert not ConsignmentItem.objects.exists()


def test_other_shops_cannot_take_items_in_under_an_agreement(shop_and_staff):
    shop, staff = shop_and_staff
    agreement = make_agreement(shop, staff)
    _other, other_staff = make_shop()
    with pytest.raises(NotFound):
        intake_batch_create(actor=other_staff, agreement_id=agreement.pk, lines=[book_line()])
    with pytest.raises(NotFound):
        intake_batch_create(actor=agreement.consignor, agreement_id=agreement.pk, lines=[book_line()])


# --- Markdowns and expiry -----------------------------------------------------------------------------


def test_markdowns_at_31_and_61_days_follow_the_schedule_and_stop_at_the_floor(shop_and_staff):
    shop, staff = shop_and_staff
    agreement = make_agreement(shop, staff)  # −10 % at 30 days, −20 % at 60, floor 85 %
    batch = intake_batch_create(
        actor=staff,
        agreement_id=agreement.pk,
        lines=[book_line(price=10_000), book_line(title="围城", price=50_000)],
    )
    first, second = batch.items.order_by("item_code")
    changed: list[int] = []

    def on_changed(sender, listing_id, **kwargs):
        changed.append(listing_id)

    listing_changed.connect(on_changed)
    try:
        start = timezone.now()
        with time_machine.travel(start + dt.timedelta(days=29), tick=False):
            assert consignment_markdowns_run().repriced == []
        with time_machine.travel(start + dt.timedelta(days=31), tick=False):
            report = consignment_markdowns_run()
            assert sorted(report.repriced) == sorted([first.pk, second.pk])
            assert consignment_markdowns_run().repriced == []  # idempotent
        prices = dict(Listing.objects.values_list("pk", "price"))
        assert prices[first.listing_id] == 9_000
        assert prices[second.listing_id] == 45_000
        with time_machine.travel(start + dt.timedelta(days=61), tick=False):
            consignment_markdowns_run()
            consignment_markdowns_run()
        prices = dict(Listing.objects.values_list("pk", "price"))
        assert prices[first.listing_id] == 8_500  # −20 % would be ¥80: the floor is 85 %
        assert prices[second.listing_id] == 42_500
    finally:
        listing_changed.disconnect(on_changed)
    assert sorted(changed) == sorted([first.listing_id, second.listing_id] * 2)


def test_an_absolute_floor_holds_too(shop_and_staff):
    shop, staff = shop_and_staff
    agreement = make_agreement(shop, staff, floor_percent_bp=None, floor_price=9_500)
    batch = intake_batch_create(actor=staff, agreement_id=agreement.pk, lines=[book_line(price=10_000)])
    with time_machine.travel(timezone.now() + dt.timedelta(days=61), tick=False):
        consignment_markdowns_run()
    assert Listing.objects.get(pk=batch.items.get().listing_id).price == 9_500


def test_a_reserved_item_is_not_repriced_until_it_is_free_again(shop_and_staff, settings):
    shop, staff = shop_and_staff
    agreement = make_agreement(shop, staff)
    batch = intake_batch_create(actor=staff, agreement_id=agreement.pk, lines=[book_line(price=10_000)])
    item = batch.items.get()
    add_photos(item.listing)
    settings.MARKETPLACE_PUBLICATION_GATES = CORE_GATES
    batch_publish(actor=staff, batch_id=batch.pk)
    order_place(buyer=UserFactory(), listing_id=item.listing_id, delivery_method="pickup", payment_method="cash")
    with time_machine.travel(timezone.now() + dt.timedelta(days=31), tick=False):
        assert consignment_markdowns_run().repriced == []
    assert Listing.objects.get(pk=item.listing_id).price == 10_000


@pytest.mark.parametrize(
    ("action", "item_status", "listing_status", "keeps_consignor"),
    [
        (ExpiryAction.RETURN, ItemStatus.RETURNED, ListingStatus.WITHDRAWN, True),
        (ExpiryAction.DONATE, ItemStatus.DONATED, ListingStatus.WITHDRAWN, True),
        (ExpiryAction.CONVERT, ItemStatus.CONVERTED, ListingStatus.PUBLISHED, False),
    ],
)
def test_the_expiry_action_is_applied_after_the_agreed_days(
    shop_and_staff, settings, action, item_status, listing_status, keeps_consignor
):
    shop, staff = shop_and_staff
    agreement = make_agreement(shop, staff, expiry_action=action)
    batch = intake_batch_create(actor=staff, agreement_id=agreement.pk, lines=[book_line()])
    item = batch.items.get()
    add_photos(item.listing)
    settings.MARKETPLACE_PUBLICATION_GATES = CORE_GATES
    batch_publish(actor=staff, batch_id=batch.pk)
    with time_machine.travel(timezone.now() + dt.timedelta(days=89), tick=False):
        assert consignment_markdowns_run().expired == []
    with time_machine.travel(timezone.now() + dt.timedelta(days=90), tick=False):
        assert consignment_markdowns_run().expired == [item.pk]
        assert consignment_markdowns_run().expired == []
    item.refresh_from_db()
    listing = Listing.objects.get(pk=item.listing_id)
    assert item.status == item_status
    assert listing.status == listing_status
    assert (listing.consignor_id is not None) is keeps_consignor
    assert agreement.consignor.notifications.filter(kind="consignment_expired").count() == 1


# --- A sale and the ledger ------------------------------------------------------------------------------


def test_a_sale_splits_by_the_tier_of_the_original_price(shop_and_staff, settings):
    shop, staff = shop_and_staff
    agreement = make_agreement(shop, staff)  # 60 % up to ¥500, 70 % above
    batch = intake_batch_create(
        actor=staff, agreement_id=agreement.pk, lines=[book_line(price=80_000), book_line(title="围城", price=20_000)]
    )
    dear, cheap = batch.items.order_by("item_code")
    order = sell_in_cash(dear, staff, settings=settings)
    assert order.consignor_share_bp == 7000
    balances = order_balances(order.pk)
    assert balances[LedgerAccount.CONSIGNOR_PAYABLE] == -56_000
    assert balances[LedgerAccount.OFFLINE_CASH] == 56_000  # the shop holds the consignor's cash
    dear.refresh_from_db()
    assert dear.status == ItemStatus.SOLD  # order_completed reached the consignment app
    order = sell_in_cash(cheap, staff, settings=settings)
    assert order.consignor_share_bp == 6000
    assert balance_for(shop_id=shop.pk, consignor_id=agreement.consignor_id) == 56_000 + 12_000
    assert ledger_reconcile()[1] == []


def test_when_the_shop_bears_the_markdown_the_consignor_keeps_their_share_of_the_original(shop_and_staff, settings):
    shop, staff = shop_and_staff
    agreement = make_agreement(shop, staff, discount_bearer="shop")
    batch = intake_batch_create(actor=staff, agreement_id=agreement.pk, lines=[book_line(price=10_000)])
    item = batch.items.get()
    with time_machine.travel(timezone.now() + dt.timedelta(days=31), tick=False):
        consignment_markdowns_run()
    order = sell_in_cash(item, staff, settings=settings)
    assert order.amount == 9_000
    assert order_balances(order.pk)[LedgerAccount.CONSIGNOR_PAYABLE] == -6_000  # 60 % of ¥100, not of ¥90


def test_a_consignment_listing_not_taken_in_keeps_the_flat_share(settings, buyer=None):
    from marketplace.services.listings import listing_create, listing_publish
    from tests.consignment import accepted_agreement
    from tests.listings import ATTRIBUTES, COMMON

    owner = MembershipFactory(organisation__verified_at=timezone.now())
    consignor = UserFactory()
    # The agreement's 60 % is the flat share too; what matters is that no intake item decides it.
    accepted_agreement(shop=owner.organisation, staff=owner.user, consignor=consignor)
    listing = listing_create(
        actor=owner.user,
        category="books",
        data={**COMMON, "title": "寄卖 红楼梦", "price": 10_000},
        attributes=dict(ATTRIBUTES["books"]),
        seller_organisation=owner.organisation,
        consignor=consignor,
    )
    add_photos(listing)
    settings.MARKETPLACE_PUBLICATION_GATES = CORE_GATES
    listing_publish(actor=owner.user, listing_id=listing.pk)
    order = order_place(buyer=UserFactory(), listing_id=listing.pk, delivery_method="pickup", payment_method="cash")
    assert order.consignor_share_bp == settings.MARKETPLACE_CONSIGNOR_SHARE_BP


# --- Payouts ---------------------------------------------------------------------------------------------


def test_payouts_are_refused_above_the_balance_or_below_the_threshold(shop_and_staff, settings):
    shop, staff = shop_and_staff
    agreement = make_agreement(shop, staff, payout_threshold=5_000)
    batch = intake_batch_create(actor=staff, agreement_id=agreement.pk, lines=[book_line(price=20_000)])
    sell_in_cash(batch.items.get(), staff, settings=settings)  # ¥120 owed
    with pytest.raises(ValidationFailed) as error:
        consignor_payout_record(actor=staff, agreement_id=agreement.pk, amount=12_001, method="cash")
    assert error.value.code == "payout_above_balance"
    assert "more than the ¥120.00 owed" in error.value.message
    with pytest.raises(ValidationFailed) as error:
        consignor_payout_record(actor=staff, agreement_id=agreement.pk, amount=4_999, method="cash")
    assert error.value.code == "payout_below_threshold"
    with pytest.raises(ValidationFailed) as error:
        consignor_payout_record(actor=staff, agreement_id=agreement.pk, amount=6_000, method="bank_transfer")
    assert "reference" in error.value.details["fields"]
    with pytest.raises(NotFound):
        consignor_payout_record(actor=agreement.consignor, agreement_id=agreement.pk, amount=6_000, method="cash")
    assert not ConsignorPayout.objects.exists()


def test_a_payout_debits_consignor_payable_and_lowers_the_balance(shop_and_staff, settings):
    shop, staff = shop_and_staff
    agreement = make_agreement(shop, staff)
    batch = intake_batch_create(actor=staff, agreement_id=agreement.pk, lines=[book_line(price=20_000)])
    sell_in_cash(batch.items.get(), staff, settings=settings)
    payout = consignor_payout_record(
        actor=staff, agreement_id=agreement.pk, amount=10_000, method="bank_transfer", reference="ICBC-0042"
    )
    entries = {e.account: e.amount for e in LedgerEntry.objects.filter(transaction=payout.ledger_transaction)}
    assert entries == {LedgerAccount.CONSIGNOR_PAYABLE: 10_000, LedgerAccount.OFFLINE_CASH: -10_000}
    assert balance_for(shop_id=shop.pk, consignor_id=agreement.consignor_id) == 2_000
    # More than the cash the shop holds for the consignor comes out of the shop's own funds.
    assert ledger_reconcile()[1] == []
    assert Order.objects.get().consignor_id == agreement.consignor_id
    assert agreement.consignor.notifications.filter(kind="consignment_payout").exists()
