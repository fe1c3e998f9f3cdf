"""The search page, saving a search, the saved-search list and unsubscribing.

Thin: parse the URL into a query, call the search service and the selectors, render.
The URL holds the whole state, so every facet, chip, sort and page is a plain link
or GET form and the page works without JavaScript."""

from __future__ import annotations

import math

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from marketplace.errors import DomainError, NotFound
from marketplace.models import User
from search.forms import DISTANCE_CHOICES, SORT_CHOICES, SearchForm, registration_cities
from search.presentation import SearchState, chips, facet_groups, summary
from search.query import MAX_RESULT_WINDOW
from search.selectors import facet_labels, page_facet_values, result_cards, saved_searches_of
from search.services import (
    saved_search_create,
    saved_search_delete,
    saved_search_for_token,
    saved_search_unsubscribe,
    search_listings,
)

PER_PAGE = 20
ERASURE_BADGE_PROVIDER = "wipe_cert.badges.erasure_badges"


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _page_number(raw: str | None) -> int:
    try:
        return max(1, int(raw or 1))
    except ValueError:
        return 1


@require_GET
def search_page(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    page_number = min(_page_number(request.GET.get("page")), MAX_RESULT_WINDOW // PER_PAGE)
    query = form.to_query(page=page_number, per_page=PER_PAGE)
    outcome = search_listings(query=query)
    result = outcome.result
    cards = result_cards(result.hits)
    state = SearchState(form.state(), reverse("search"))
    labels = facet_labels(page_facet_values(state.pairs, result.facets))
    pages = max(1, math.ceil(min(result.total, MAX_RESULT_WINDOW) / PER_PAGE))
    active_chips = chips(state, labels)
    user = _user(request)
    already_saved = (
        user.is_authenticated and saved_searches_of(user=user).filter(querystring=state.querystring).exists()
    )
    return render(
        request,
        "search/search.html",
        {
            "form": form,
            "query": query,
            "outcome": outcome,
            "result": result,
            "cards": cards,
            "state": state,
            "facets": facet_groups(state, result, labels),
            "chips": active_chips,
            # On the filters button: every chip but the words typed in the box.
            "active_filter_count": len(active_chips) - (1 if state.values("q") else 0),
            "ignored": form.ignored(),
            "sort_choices": SORT_CHOICES,
            "distance_choices": DISTANCE_CHOICES,
            "current_sort": query.effective_sort.value,
            "near": query.near,
            "within": state.values("within")[0] if state.values("within") else "",
            # Only where the buyer is looking at vehicles (or already chose a city).
            "registration_cities": (
                registration_cities()
                if "vehicles" in query.categories or query.registrable_standards is not None
                else []
            ),
            "registration_city": form.valid_data().get("registration_city"),
            "page_number": page_number,
            "pages": pages,
            "previous_url": state.with_value("page", str(page_number - 1)) if page_number > 1 else "",
            "next_url": state.with_value("page", str(page_number + 1)) if page_number < pages else "",
            "already_saved": already_saved,
            # The card shows its own erasure badge unless wipe_cert's badge provider is on.
            "erasure_badge": ERASURE_BADGE_PROVIDER not in settings.MARKETPLACE_LISTING_BADGES,
        },
    )


class SaveSearchForm(forms.Form):
    querystring = forms.CharField(required=False, max_length=1000)


@login_required
@require_POST
def saved_search_save(request: HttpRequest) -> HttpResponse:
    form = SaveSearchForm(request.POST)
    querystring = form.cleaned_data["querystring"] if form.is_valid() else ""
    # Saved in canonical form, from the parameters that validate.
    search_form = SearchForm(QueryDict(querystring))
    state = SearchState(search_form.state(), reverse("search"))
    try:
        saved = saved_search_create(
            user=_user(request), querystring=state.querystring, name=summary(state, facet_labels(state.pairs))
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Search saved. We will tell you when new listings match “%(name)s”.") % {"name": saved.name},
        )
    return redirect(state.url(state.pairs))


@login_required
@require_GET
def saved_search_list(request: HttpRequest) -> HttpResponse:
    return render(request, "search/saved.html", {"saved_searches": list(saved_searches_of(user=_user(request)))})


@login_required
@require_POST
def saved_search_remove(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        saved_search_delete(user=_user(request), saved_search_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    messages.success(request, _("The saved search was deleted."))
    return redirect("saved_searches")


@require_http_methods(["GET", "POST"])
def saved_search_unsubscribe_view(request: HttpRequest, token: str) -> HttpResponse:
    """From the link in an alert e-mail: no login needed. GET only asks, so that mail
    scanners following links do not unsubscribe anyone."""
    try:
        if request.method == "POST":
            saved = saved_search_unsubscribe(token=token)
            return render(request, "search/unsubscribe.html", {"saved": saved, "done": True})
        saved = saved_search_for_token(token=token)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return render(request, "search/unsubscribe.html", {"saved": saved, "done": False})
