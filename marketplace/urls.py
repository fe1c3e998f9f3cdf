from django.urls import path

from marketplace.views import accounts as views
from marketplace.views import listings, notifications

urlpatterns = [
    path("accounts/profile/", views.profile, name="profile"),
    path("organisations/new/", views.organisation_register, name="organisation_register"),
    path("organisations/<int:pk>/", views.organisation_detail, name="organisation_detail"),
    # Selling and managing listings
    path("sell/", listings.sell_choose_category, name="sell"),
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
    # Notifications
    path("notifications/", notifications.notification_list, name="notifications"),
    path("notifications/read/", notifications.notifications_read, name="notifications_mark_read"),
]
