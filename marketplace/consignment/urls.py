from django.urls import path

from marketplace.consignment import views

urlpatterns = [
    path("consignment/mine/", views.portal, name="consignment_portal"),
    path(
        "consignment/mine/invitations/<int:pk>/accept/", views.invitation_accept, name="consignment_invitation_accept"
    ),
    path(
        "consignment/mine/invitations/<int:pk>/decline/",
        views.invitation_decline,
        name="consignment_invitation_decline",
    ),
    path(
        "consignment/mine/agreements/<int:pk>/end/",
        views.consignor_agreement_end,
        name="consignment_consignor_agreement_end",
    ),
    path("consignment/shop/", views.shop_home, name="consignment_shop_home"),
    path("consignment/shop/<int:shop_id>/", views.shop_agreements, name="consignment_shop"),
    path("consignment/shop/<int:shop_id>/agreements/new/", views.agreement_new, name="consignment_agreement_new"),
    path("consignment/agreements/<int:pk>/", views.agreement_detail, name="consignment_agreement"),
    path("consignment/agreements/<int:pk>/end/", views.agreement_end_view, name="consignment_agreement_end"),
    path("consignment/agreements/<int:pk>/intake/", views.intake, name="consignment_intake"),
    path("consignment/agreements/<int:pk>/payouts/", views.agreement_payout, name="consignment_payout"),
    path("consignment/batches/<int:pk>/", views.batch_detail, name="consignment_batch"),
    path("consignment/batches/<int:pk>/publish/", views.batch_publish_view, name="consignment_batch_publish"),
    path("consignment/batches/<int:pk>/tags.pdf", views.batch_tags, name="consignment_batch_tags"),
]
