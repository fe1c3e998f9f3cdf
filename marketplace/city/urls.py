from django.urls import path

from marketplace.city import views

urlpatterns = [
    path("statistics/", views.statistics_summary, name="city_statistics"),
    path("vehicles/registration-city/", views.registration_city, name="city_registration_city"),
]
