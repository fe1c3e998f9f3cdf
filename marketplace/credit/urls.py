from django.urls import path

from marketplace.credit import views

urlpatterns = [
    path("orders/<int:pk>/rate/", views.order_rate, name="credit_order_rate"),
    path("my/credit/", views.my_credit, name="credit_mine"),
    path("my/credit/appeal/", views.my_credit_appeal, name="credit_appeal"),
    path("my/credit/consent/", views.my_credit_consent, name="credit_consent"),
    path("my/credit/report.json", views.my_credit_report, name="credit_report"),
    path("users/<int:pk>/", views.profile, name="credit_profile"),
    path(".well-known/credit-keys.json", views.credit_keys, name="credit_keys"),
]
