from django.urls import path

from wipe_cert import views

urlpatterns = [
    # Technicians
    path("erasure/", views.certificate_list, name="erasure_list"),
    path("erasure/import/", views.certificate_import_view, name="erasure_import"),
    path("erasure/new/", views.certificate_new_view, name="erasure_new"),
    path("erasure/certificates/<uuid:pk>/", views.certificate_detail, name="erasure_detail"),
    path("erasure/certificates/<uuid:pk>/complete/", views.certificate_complete, name="erasure_complete"),
    path("erasure/certificates/<uuid:pk>/sign/", views.certificate_sign_view, name="erasure_sign"),
    path("erasure/certificates/<uuid:pk>/revoke/", views.certificate_revoke_view, name="erasure_revoke"),
    # Sellers attach a certificate to their listing
    path("erasure/bind/<int:listing_id>/", views.certificate_bind_view, name="erasure_bind"),
    # Everyone: the QR code's target, the printable certificate, the signed bundle
    path("verify/<uuid:pk>", views.verify_redirect),
    path("verify/<uuid:pk>/", views.verify_page, name="erasure_verify"),
    path("verify/<uuid:pk>/certificate.pdf", views.certificate_pdf_view, name="erasure_pdf"),
    path("verify/<uuid:pk>/bundle.json", views.certificate_bundle_view, name="erasure_bundle"),
    path(".well-known/erasure-keys.json", views.erasure_keys, name="erasure_keys"),
]
