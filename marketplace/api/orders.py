"""Orders, payments, offers and messages in the JSON API (a public contract).

A buyer sees only their orders and a seller only theirs: anyone else gets 404, and a
party asking for the other party's step (a buyer shipping, say) gets 403. Endpoints stay
thin: parse, call a service, render with `order_json`."""

from __future__ import annotations

from typing import IO, Any, cast

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field, StrictInt, StrictStr

from marketplace.api.common import ErrorOut, request_user
from marketplace.models import DisputeKind, Offer, Order, OrderStatus, Party, PaymentProvider, User
from marketplace.order_selectors import (
    offers_made_by,
    offers_received_by,
    order_detail,
    orders_bought_by,
    orders_sold_by,
)
from marketplace.payments.stripe_gateway import card_payments_enabled, decline_message
from marketplace.services.messages import ShownMessage, conversation, message_send
from marketplace.services.offers import offer_accept, offer_counter, offer_decline, offer_make
from marketplace.services.orders import (
    dispute_open,
    order_available_actions,
    order_cancel,
    order_confirm_receipt,
    order_get_for_party,
    order_handover_confirm,
    order_party,
    order_place,
    order_return_receive,
    order_return_request,
    order_return_ship,
    order_ship,
)
from marketplace.services.payments import payment_authorise, payment_start

router = Router(tags=["orders"])

ERRORS: dict[int, Any] = {
    401: ErrorOut,
    402: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
    503: ErrorOut,
}


# --- Input ------------------------------------------------------------------------------


class OrderCreateIn(Schema):
    model_config = ConfigDict(extra="forbid")

    delivery_method: StrictStr = Field(description="ship, pickup or event (one the listing offers)")
    payment_method: StrictStr = Field(description="card (held until receipt), or cash for pickup and events")
    idempotency_key: StrictStr = Field(
        default="",
        max_length=64,
        description="Optional; the Idempotency-Key header works too. A retry with the same key returns the "
        "first order instead of failing.",
    )


class PayIn(Schema):
    model_config = ConfigDict(extra="forbid")

    token: StrictStr | None = Field(
        default=None,
        description="A Stripe.js card token (tok_…) or payment method (pm_…): the server authorises the card. "
        "Without it, only the PaymentIntent's client secret is returned, for Stripe.js to confirm.",
    )


class ShipIn(Schema):
    model_config = ConfigDict(extra="forbid")

    carrier: StrictStr = Field(max_length=60)
    tracking_number: StrictStr = Field(max_length=60)


class HandoverIn(Schema):
    model_config = ConfigDict(extra="forbid")

    code: StrictStr = Field(description="The code the buyer shows at the hand-over.", max_length=20)


class ReasonIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: StrictStr = Field(default="", max_length=2000)


class TrackingIn(Schema):
    model_config = ConfigDict(extra="forbid")

    tracking_number: StrictStr = Field(max_length=60)


class OfferIn(Schema):
    model_config = ConfigDict(extra="forbid")

    amount: StrictInt = Field(description="In minor units (fen), below the asking price.")
    delivery_method: StrictStr
    payment_method: StrictStr
    message: StrictStr = Field(default="", max_length=500)


class CounterIn(Schema):
    model_config = ConfigDict(extra="forbid")

    amount: StrictInt
    message: StrictStr = Field(default="", max_length=500)


class MessageIn(Schema):
    model_config = ConfigDict(extra="forbid")

    body: StrictStr = Field(max_length=2000)
    buyer_id: StrictInt | None = Field(default=None, description="The seller answering names the buyer.")


class OrdersQuery(Schema):
    role: str = Field(default="buyer", pattern="^(buyer|seller)$")
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0)


class ConversationQuery(Schema):
    buyer_id: int | None = None


# --- Output -----------------------------------------------------------------------------


class PaymentOut(Schema):
    provider: str
    status: str
    amount: int
    amount_captured: int
    amount_refunded: int
    card_last4: str
    error: str


class HoldOut(Schema):
    reason: str
    held_at: Any
    status_before: str = Field(description="Where the order continues if a moderator lets it.")


class OrderOut(Schema):
    id: int
    status: str
    status_label: str
    role: str = Field(description="buyer, seller or moderator: how the caller sees this order")
    listing: dict[str, Any]
    buyer: dict[str, Any]
    seller: dict[str, Any]
    delivery_method: str
    payment_method: str
    amount: int
    currency: str
    snapshot: dict[str, Any] = Field(description="Price, grade and certificate when the order was placed.")
    handshake_code: str | None = Field(description="Shown to the buyer only, for pickup and events.")
    tracking: dict[str, str]
    deadlines: dict[str, Any]
    payment: PaymentOut | None
    return_request: dict[str, Any] | None
    hold: HoldOut | None = Field(
        description="Set while the order is on hold (what vouched for the item was revoked before the hand-over): "
        "the buyer may cancel with a full refund, or wait for a moderator's decision."
    )
    disputes: list[dict[str, Any]]
    actions: list[str]
    created_at: Any
    completed_at: Any
    cancelled_at: Any
    cancel_reason: str


class OrderPageOut(Schema):
    count: int
    items: list[OrderOut]


class PayOut(Schema):
    order: OrderOut
    intent_id: str
    intent_status: str
    client_secret: str
    publishable_key: str


class OfferOut(Schema):
    id: int
    listing_id: int
    buyer_id: int
    proposed_by: str
    amount: int
    currency: str
    delivery_method: str
    payment_method: str
    message: str
    status: str
    parent_id: int | None
    expires_at: Any
    order_id: int | None
    created_at: Any


class MessageOut(Schema):
    id: int
    sender_id: int
    sender_name: str
    from_seller: bool
    text: str
    masked: bool = Field(description="Contact or payment details were hidden (no order between you yet).")
    flags: list[str]
    created_at: Any


class ConversationOut(Schema):
    listing_id: int
    buyer_id: int
    warning: str | None
    messages: list[MessageOut]


# --- Rendering --------------------------------------------------------------------------


def _person(user: User | None) -> dict[str, Any]:
    return {"id": user.pk, "name": user.public_name} if user is not None else {}


def _seller(order: Order) -> dict[str, Any]:
    if order.seller_organisation is not None:
        return {"kind": "organisation", "id": order.seller_organisation.pk, "name": order.seller_organisation.name}
    return {"kind": "user", **_person(order.seller_user)}


def order_json(order: Order, user: User) -> dict[str, Any]:
    party = order_party(user, order)
    payments = [p for p in order.payments.all() if p.provider == PaymentProvider.STRIPE] or list(order.payments.all())
    payment = payments[0] if payments else None
    show_code = party == Party.BUYER and order.in_person and order.completed_at is None and order.handed_over_at is None
    return {
        "id": order.pk,
        "status": order.status,
        "status_label": order.get_status_display(),
        "role": party,
        "listing": {"id": order.listing_id, "title": order.title, "url": f"/listings/{order.listing_id}/"},
        "buyer": _person(order.buyer),
        "seller": _seller(order),
        "delivery_method": order.delivery_method,
        "payment_method": order.payment_method,
        "amount": order.amount,
        "currency": order.currency,
        "snapshot": order.snapshot,
        "handshake_code": order.handshake_code if show_code else None,
        "tracking": {"carrier": order.tracking_carrier, "number": order.tracking_number},
        "deadlines": {
            "pay_by": order.payment_due_at,
            "ship_or_hand_over_by": order.seller_due_at,
            "confirms_automatically_at": order.confirm_due_at,
        },
        "payment": None
        if payment is None
        else {
            "provider": payment.provider,
            "status": payment.status,
            "amount": payment.amount,
            "amount_captured": payment.amount_captured,
            "amount_refunded": payment.amount_refunded,
            "card_last4": payment.card_last4,
            "error": decline_message(payment.last_error_code) if payment.last_error_code else "",
        },
        "return_request": None
        if order.return_requested_at is None
        else {
            "requested_at": order.return_requested_at,
            "reason": order.return_reason,
            "tracking_number": order.return_tracking,
        },
        "hold": None
        if order.status != OrderStatus.ON_HOLD
        else {"reason": order.hold_reason, "held_at": order.held_at, "status_before": order.status_before_hold},
        "disputes": [
            {
                "id": d.pk,
                "kind": d.kind,
                "status": d.status,
                "description": d.description,
                "refund_amount": d.refund_amount,
                "resolution_note": d.resolution_note,
                "evidence": [f"/orders/{order.pk}/evidence/{e.pk}/" for e in d.evidence.all()],
            }
            for d in order.disputes.all()
        ],
        "actions": order_available_actions(order, party, timezone.now()),
        "created_at": order.created_at,
        "completed_at": order.completed_at,
        "cancelled_at": order.cancelled_at,
        "cancel_reason": order.cancel_reason,
    }


def _render(user: User, order_id: int) -> dict[str, Any]:
    order_get_for_party(user=user, order_id=order_id)  # 404 for anyone but the parties
    order = order_detail(order_id=order_id)
    assert order is not None  # noqa: S101
    return order_json(order, user)


def offer_json(offer: Offer) -> dict[str, Any]:
    return {
        "id": offer.pk,
        "listing_id": offer.listing_id,
        "buyer_id": offer.buyer_id,
        "proposed_by": offer.proposed_by,
        "amount": offer.amount,
        "currency": offer.currency,
        "delivery_method": offer.delivery_method,
        "payment_method": offer.payment_method,
        "message": offer.message,
        "status": offer.status,
        "parent_id": offer.parent_id,
        "expires_at": offer.expires_at,
        "order_id": offer.order_id,
        "created_at": offer.created_at,
    }


def message_json(message: ShownMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "sender_id": message.sender_id,
        "sender_name": message.sender_name,
        "from_seller": message.from_seller,
        "text": message.text,
        "masked": message.masked,
        "flags": list(message.flags),
        "created_at": message.created_at,
    }


def off_platform_warning() -> str:
    return _(
        "Contact and payment details stay hidden until you have an order together. Never pay outside the "
        "platform: money paid by bank transfer, WeChat or Alipay directly is not protected."
    )


# --- Orders -----------------------------------------------------------------------------


@router.post("/listings/{int:listing_id}/orders", response={200: OrderOut, 201: OrderOut, **ERRORS})
def order_create_endpoint(request: HttpRequest, listing_id: int, payload: OrderCreateIn) -> Status[dict[str, Any]]:
    """Buy a published listing: it is reserved for you at once. 409 `listing_reserved` when
    someone else is buying it. Repeating a request with the same idempotency key returns
    the first order (200)."""
    user = request_user(request)
    key = payload.idempotency_key or request.headers.get("Idempotency-Key", "")
    existed = bool(key) and Order.objects.filter(buyer=user, idempotency_key=key.strip()[:64]).exists()
    order = order_place(
        buyer=user,
        listing_id=listing_id,
        delivery_method=payload.delivery_method,
        payment_method=payload.payment_method,
        idempotency_key=key,
    )
    return Status(200 if existed else 201, _render(user, order.pk))


@router.get("/orders", response={200: OrderPageOut, 401: ErrorOut})
def orders_mine(request: HttpRequest, query: Query[OrdersQuery]) -> dict[str, Any]:
    """Your orders as a buyer (`role=buyer`) or as a seller (`role=seller`)."""
    user = request_user(request)
    queryset = orders_bought_by(user=user) if query.role == "buyer" else orders_sold_by(user=user)
    page = list(queryset.prefetch_related("disputes__evidence")[query.offset : query.offset + query.limit])
    return {"count": queryset.count(), "items": [order_json(order, user) for order in page]}


@router.get("/orders/{int:order_id}", response={200: OrderOut, 401: ErrorOut, 404: ErrorOut})
def order_read(request: HttpRequest, order_id: int) -> dict[str, Any]:
    return _render(request_user(request), order_id)


@router.post("/orders/{int:order_id}/pay", response={200: PayOut, **ERRORS})
def order_pay(request: HttpRequest, order_id: int, payload: PayIn) -> dict[str, Any]:
    """Card orders: returns the PaymentIntent's client secret (manual capture: the money is
    held, not taken). With a Stripe.js `token` the server also authorises the card; a
    declined card is 402 `card_declined` with a message for the buyer."""
    user = request_user(request)
    if payload.token:
        _payment, intent = payment_authorise(buyer=user, order_id=order_id, token=payload.token)
    else:
        _payment, intent = payment_start(buyer=user, order_id=order_id)
    return {
        "order": _render(user, order_id),
        "intent_id": intent.id,
        "intent_status": intent.status,
        "client_secret": intent.client_secret,
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY if card_payments_enabled() else "",
    }


@router.post("/orders/{int:order_id}/ship", response={200: OrderOut, **ERRORS})
def order_ship_endpoint(request: HttpRequest, order_id: int, payload: ShipIn) -> dict[str, Any]:
    user = request_user(request)
    order_ship(seller=user, order_id=order_id, carrier=payload.carrier, tracking_number=payload.tracking_number)
    return _render(user, order_id)


@router.post("/orders/{int:order_id}/handover", response={200: OrderOut, **ERRORS})
def order_handover_endpoint(request: HttpRequest, order_id: int, payload: HandoverIn) -> dict[str, Any]:
    """The seller enters the buyer's hand-over code (pickup and events)."""
    user = request_user(request)
    order_handover_confirm(seller=user, order_id=order_id, code=payload.code)
    return _render(user, order_id)


@router.post("/orders/{int:order_id}/confirm-receipt", response={200: OrderOut, **ERRORS})
def order_confirm_endpoint(request: HttpRequest, order_id: int) -> dict[str, Any]:
    """The buyer has the item: the held money is captured and the order completes."""
    user = request_user(request)
    order_confirm_receipt(buyer=user, order_id=order_id)
    return _render(user, order_id)


@router.post("/orders/{int:order_id}/cancel", response={200: OrderOut, **ERRORS})
def order_cancel_endpoint(request: HttpRequest, order_id: int, payload: ReasonIn) -> dict[str, Any]:
    """Before the item is shipped or handed over. An order on hold is cancelled by its
    buyer only (the seller gets 403), with a full refund and nobody at fault."""
    user = request_user(request)
    order_cancel(actor=user, order_id=order_id, reason=payload.reason)
    return _render(user, order_id)


@router.post("/orders/{int:order_id}/return", response={200: OrderOut, **ERRORS})
def order_return_endpoint(request: HttpRequest, order_id: int, payload: ReasonIn) -> dict[str, Any]:
    """Seven-day no-reason return (shipped orders; not vehicles)."""
    user = request_user(request)
    order_return_request(buyer=user, order_id=order_id, reason=payload.reason)
    return _render(user, order_id)


@router.post("/orders/{int:order_id}/return/ship", response={200: OrderOut, **ERRORS})
def order_return_ship_endpoint(request: HttpRequest, order_id: int, payload: TrackingIn) -> dict[str, Any]:
    user = request_user(request)
    order_return_ship(buyer=user, order_id=order_id, tracking_number=payload.tracking_number)
    return _render(user, order_id)


@router.post("/orders/{int:order_id}/return/receive", response={200: OrderOut, **ERRORS})
def order_return_receive_endpoint(request: HttpRequest, order_id: int) -> dict[str, Any]:
    """The seller has the returned item back: the buyer is refunded."""
    user = request_user(request)
    order_return_receive(seller=user, order_id=order_id)
    return _render(user, order_id)


@router.post(
    "/orders/{int:order_id}/dispute",
    response={201: OrderOut, **ERRORS},
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "kind": {"type": "string", "enum": list(DisputeKind.values)},
                            "description": {"type": "string"},
                            "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
                        },
                        "required": ["kind", "description"],
                    }
                }
            },
            "required": True,
        }
    },
)
def order_dispute_endpoint(request: HttpRequest, order_id: int) -> Status[dict[str, Any]]:
    """ "Not as described" or "not as graded" (multipart: kind, description, evidence photos
    in `file`). The auto-confirm timer stops until a moderator decides."""
    user = request_user(request)
    uploads = request.FILES.getlist("file")
    dispute_open(
        buyer=user,
        order_id=order_id,
        kind=request.POST.get("kind", ""),
        description=request.POST.get("description", ""),
        files=[(cast(IO[bytes], upload), upload.size or 0, upload.name or "") for upload in uploads],
    )
    return Status(201, _render(user, order_id))


# --- Offers -----------------------------------------------------------------------------


@router.post("/listings/{int:listing_id}/offers", response={201: OfferOut, **ERRORS})
def offer_create_endpoint(request: HttpRequest, listing_id: int, payload: OfferIn) -> Status[dict[str, Any]]:
    """Offer a price below the asking price; the seller has 48 hours to accept, counter or decline."""
    offer = offer_make(
        buyer=request_user(request),
        listing_id=listing_id,
        amount=payload.amount,
        delivery_method=payload.delivery_method,
        payment_method=payload.payment_method,
        message=payload.message,
    )
    return Status(201, offer_json(offer))


@router.get("/offers", response={200: list[OfferOut], 401: ErrorOut})
def offers_mine(request: HttpRequest) -> list[dict[str, Any]]:
    """Offers you made and offers on listings you sell."""
    user = request_user(request)
    found = {offer.pk: offer for offer in offers_made_by(user=user)[:100]}
    found.update({offer.pk: offer for offer in offers_received_by(user=user)[:100]})
    return [offer_json(offer) for offer in sorted(found.values(), key=lambda o: (o.created_at, o.pk), reverse=True)]


@router.post("/offers/{int:offer_id}/accept", response={200: OfferOut, **ERRORS})
def offer_accept_endpoint(request: HttpRequest, offer_id: int) -> dict[str, Any]:
    """Accept the other side's offer: the order is placed at its price (`order_id`)."""
    return offer_json(offer_accept(actor=request_user(request), offer_id=offer_id))


@router.post("/offers/{int:offer_id}/counter", response={201: OfferOut, **ERRORS})
def offer_counter_endpoint(request: HttpRequest, offer_id: int, payload: CounterIn) -> Status[dict[str, Any]]:
    counter = offer_counter(
        actor=request_user(request), offer_id=offer_id, amount=payload.amount, message=payload.message
    )
    return Status(201, offer_json(counter))


@router.post("/offers/{int:offer_id}/decline", response={200: OfferOut, **ERRORS})
def offer_decline_endpoint(request: HttpRequest, offer_id: int) -> dict[str, Any]:
    """Decline the other side's offer, or withdraw your own."""
    return offer_json(offer_decline(actor=request_user(request), offer_id=offer_id))


# --- Messages ---------------------------------------------------------------------------


def _conversation_json(user: User, listing_id: int, buyer_id: int | None) -> dict[str, Any]:
    listing, buyer, shown = conversation(user=user, listing_id=listing_id, buyer_id=buyer_id)
    return {
        "listing_id": listing.pk,
        "buyer_id": buyer.pk,
        "warning": off_platform_warning() if any(m.masked for m in shown) else None,
        "messages": [message_json(m) for m in shown],
    }


@router.get("/listings/{int:listing_id}/messages", response={200: ConversationOut, **ERRORS})
def messages_read(request: HttpRequest, listing_id: int, query: Query[ConversationQuery]) -> dict[str, Any]:
    """Your conversation with the seller (buyers), or with `buyer_id` (sellers)."""
    return _conversation_json(request_user(request), listing_id, query.buyer_id)


@router.post("/listings/{int:listing_id}/messages", response={201: ConversationOut, **ERRORS})
def messages_send(request: HttpRequest, listing_id: int, payload: MessageIn) -> Status[dict[str, Any]]:
    """Phone numbers, WeChat/Alipay/QQ IDs and bank card numbers are masked for both sides
    until you have an order together."""
    user = request_user(request)
    message = message_send(sender=user, listing_id=listing_id, body=payload.body, buyer_id=payload.buyer_id)
    return Status(201, _conversation_json(user, listing_id, message.buyer_id))
