from django.urls import path

from marketplace.views import accounts as views
from marketplace.views import books, listings, notifications, orders, payments, privacy

urlpatterns = [
    path("accounts/profile/", views.profile, name="profile"),
    path("accounts/privacy/", privacy.privacy_overview, name="privacy"),
    path("accounts/privacy/delete/", privacy.privacy_delete, name="privacy_delete"),
    path("organisations/new/", views.organisation_register, name="organisation_register"),
    path("organisations/<int:pk>/", views.organisation_detail, name="organisation_detail"),
    # Selling and managing listings
    path("sell/", listings.sell_choose_category, name="sell"),
    path("sell/books/isbn/", books.book_isbn_lookup, name="book_isbn_lookup"),
    path("sell/<str:category>/", listings.sell_create, name="sell_create"),
    path("my/listings/", listings.my_listings, name="my_listings"),
    path("my/listings/<int:pk>/", listings.listing_manage, name="listing_manage"),
    path("my/listings/<int:pk>/edit/", listings.listing_edit, name="listing_edit"),
    path("my/listings/<int:pk>/publish/", listings.listing_publish_view, name="listing_publish"),
    path("my/listings/<int:pk>/withdraw/", listings.listing_withdraw_view, name="listing_withdraw"),
    path("my/listings/<int:pk>/reopen/", listings.listing_reopen_view, name="listing_reopen"),
    path("my/listings/<int:pk>/photos/", listings.listing_photos_upload, name="listing_photos_upload"),
    path("my/listings/<int:pk>/photos/order/", listings.listing_photos_order, name="listing_photos_order"),
    path("my/listings/<int:pk>/photos/<int:photo_id>/cover/", listings.listing_photo_cover, name="listing_photo_cover"),
    path(
        "my/listings/<int:pk>/photos/<int:photo_id>/delete/",
        listings.listing_photo_remove,
        name="listing_photo_delete",
    ),
    # Buyers
    path("browse/", listings.browse, name="browse"),
    path("listings/<int:pk>/", listings.listing_public, name="listing_detail"),
    path("listings/<int:pk>/report/", listings.listing_report, name="listing_report"),
    # Buying: orders, offers, messages
    path("listings/<int:pk>/buy/", orders.listing_buy, name="listing_buy"),
    path("listings/<int:pk>/offers/", orders.listing_offer, name="listing_offer"),
    path("listings/<int:pk>/messages/", orders.listing_messages, name="listing_messages"),
    path("offers/<int:pk>/<str:action>/", orders.offer_respond, name="offer_respond"),
    path("my/orders/", orders.my_orders, name="my_orders"),
    path("orders/<int:pk>/", orders.order_page, name="order_detail"),
    path("orders/<int:pk>/pay/", orders.order_pay, name="order_pay"),
    path("orders/<int:pk>/pay/refresh/", orders.order_pay_refresh, name="order_pay_refresh"),
    path("orders/<int:pk>/ship/", orders.order_ship_view, name="order_ship"),
    path("orders/<int:pk>/handover/", orders.order_handover_view, name="order_handover"),
    path("orders/<int:pk>/confirm/", orders.order_confirm_view, name="order_confirm"),
    path("orders/<int:pk>/cancel/", orders.order_cancel_view, name="order_cancel"),
    path("orders/<int:pk>/return/", orders.order_return_view, name="order_return"),
    path("orders/<int:pk>/return/ship/", orders.order_return_ship_view, name="order_return_ship"),
    path("orders/<int:pk>/return/receive/", orders.order_return_receive_view, name="order_return_receive"),
    path("orders/<int:pk>/dispute/", orders.order_dispute_view, name="order_dispute"),
    path("orders/<int:pk>/evidence/<int:evidence_id>/", orders.order_evidence, name="order_evidence"),
    path("payments/stripe/webhook/", payments.stripe_webhook, name="stripe_webhook"),
    # Notifications
    path("notifications/", notifications.notification_list, name="notifications"),
    path("notifications/read/", notifications.notifications_read, name="notifications_mark_read"),
]
