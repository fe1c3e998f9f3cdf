from django.urls import path

from marketplace.views import accounts as views

urlpatterns = [
    path("accounts/profile/", views.profile, name="profile"),
    path("organisations/new/", views.organisation_register, name="organisation_register"),
    path("organisations/<int:pk>/", views.organisation_detail, name="organisation_detail"),
]
