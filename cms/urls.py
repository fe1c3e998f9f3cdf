from django.urls import path

from cms.views import events

urlpatterns = [
    path("events/calendar.ics", events.calendar_feed, name="events_calendar"),
    path("my/listings/<int:listing_id>/events/", events.listing_event_add, name="listing_event_add"),
    path(
        "my/listings/<int:listing_id>/events/<int:market_date_id>/remove/",
        events.listing_event_remove,
        name="listing_event_remove",
    ),
]
