from django.urls import path

from search import views

urlpatterns = [
    path("search/", views.search_page, name="search"),
    path("search/saved/", views.saved_search_list, name="saved_searches"),
    path("search/saved/new/", views.saved_search_save, name="saved_search_save"),
    path("search/saved/<int:pk>/delete/", views.saved_search_remove, name="saved_search_delete"),
    path(
        "search/saved/unsubscribe/<str:token>/",
        views.saved_search_unsubscribe_view,
        name="search_unsubscribe",
    ),
]
