"""School book swaps (旧书分享日).

A school's coordinators (adult accounts) create swap days with one join code per class.
Pupils take part without an account: a nickname and their class are all that is stored,
plus a hash of a random secret kept in their browser session so they can come back.
Books are offered by ISBN, pupils keep wishlists, and points replace money."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel, Panel
from wagtail.contrib.routable_page.models import RoutablePageMixin, path
from wagtail.fields import RichTextField
from wagtail.models import Page
from wagtail.search import index

from cms.models.common import (
    RICHTEXT_FEATURES,
    SCHOOL_KINDS,
    OrganisationPageMixin,
    SanitisedRichTextMixin,
    organisation_fk_kwargs,
)
from marketplace.models import Organisation


class BookSwapPage(RoutablePageMixin, SanitisedRichTextMixin, OrganisationPageMixin, Page):
    organisation_kinds = SCHOOL_KINDS
    organisation = models.ForeignKey(Organisation, **organisation_fk_kwargs(*SCHOOL_KINDS))
    intro = RichTextField(_("introduction"), blank=True, features=RICHTEXT_FEATURES)
    start_points = models.PositiveSmallIntegerField(
        _("starting points"), default=2, help_text=_("Points every pupil has when joining a swap day.")
    )
    points_for_giving = models.PositiveSmallIntegerField(
        _("points for each book given"), default=1, validators=[MaxValueValidator(10)]
    )
    points_for_receiving = models.PositiveSmallIntegerField(
        _("points for each book received"), default=1, validators=[MaxValueValidator(10)]
    )
    first_refusal_hours = models.PositiveSmallIntegerField(
        _("first refusal (hours)"),
        default=48,
        validators=[MaxValueValidator(24 * 14)],
        help_text=_("How long pupils who wished for a book may claim it before everyone else."),
    )
    library_name = models.CharField(
        _("leftover books go to"), max_length=60, default="班级图书角", help_text=_("e.g. the class library.")
    )

    search_fields: ClassVar[list[index.BaseField]] = [*Page.search_fields, index.SearchField("intro")]
    content_panels: ClassVar[list[Panel]] = [
        *Page.content_panels,
        FieldPanel("organisation", permission="marketplace.change_organisation"),
        FieldPanel("intro"),
        MultiFieldPanel(
            [
                FieldPanel("start_points"),
                FieldRowPanel([FieldPanel("points_for_giving"), FieldPanel("points_for_receiving")]),
                FieldPanel("first_refusal_hours"),
                FieldPanel("library_name"),
            ],
            heading=_("Points and rules"),
        ),
    ]
    parent_page_types: ClassVar[list[str]] = ["cms.HomePage", "cms.EventIndexPage"]
    subpage_types: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("book swap page")
        verbose_name_plural = _("book swap pages")

    def get_context(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        from cms.views.bookswap import swap_page_context

        context = super().get_context(request, *args, **kwargs)
        context.update(swap_page_context(request, self))
        return context

    @path("")
    def index(self, request: HttpRequest) -> HttpResponse:
        return self.render(request)

    @path("join/", name="join")
    def join(self, request: HttpRequest) -> HttpResponse:
        from cms.views.bookswap import join_view

        return join_view(request, self)

    @path("days/<int:day_id>/", name="day")
    def day(self, request: HttpRequest, day_id: int) -> HttpResponse:
        from cms.views.bookswap import pupil_day_view

        return pupil_day_view(request, self, day_id)

    @path("days/<int:day_id>/<str:action>/", name="pupil_action")
    def pupil_action(self, request: HttpRequest, day_id: int, action: str) -> HttpResponse:
        from cms.views.bookswap import pupil_action_view

        return pupil_action_view(request, self, day_id, action)

    @path("coordinate/", name="coordinate")
    def coordinate(self, request: HttpRequest) -> HttpResponse:
        from cms.views.bookswap import coordinator_home_view

        return coordinator_home_view(request, self)

    @path("coordinate/days/<int:day_id>/", name="coordinate_day")
    def coordinate_day(self, request: HttpRequest, day_id: int) -> HttpResponse:
        from cms.views.bookswap import coordinator_day_view

        return coordinator_day_view(request, self, day_id)

    @path("coordinate/days/<int:day_id>/<str:action>/", name="coordinate_action")
    def coordinate_action(self, request: HttpRequest, day_id: int, action: str) -> HttpResponse:
        from cms.views.bookswap import coordinator_action_view

        return coordinator_action_view(request, self, day_id, action)


class SwapDayStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class SwapDay(models.Model):
    page = models.ForeignKey(BookSwapPage, on_delete=models.PROTECT, related_name="swap_days")
    title = models.CharField(_("title"), max_length=120)
    date = models.DateField(_("date"))
    location = models.CharField(_("where"), max_length=120, blank=True, help_text=_("e.g. the school library"))
    status = models.CharField(_("status"), max_length=10, choices=SwapDayStatus.choices, default=SwapDayStatus.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("responsible coordinator"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("swap day")
        verbose_name_plural = _("swap days")
        ordering: ClassVar[list[str]] = ["-date", "-pk"]

    def __str__(self) -> str:
        return f"{self.title} ({self.date:%Y-%m-%d})"

    @property
    def is_open(self) -> bool:
        return self.status == SwapDayStatus.OPEN


class SwapClass(models.Model):
    """A class taking part in a swap day, with the code its pupils join with."""

    swap_day = models.ForeignKey(SwapDay, on_delete=models.CASCADE, related_name="classes")
    name = models.CharField(_("class"), max_length=40, help_text=_("e.g. 三年级二班"))
    code = models.CharField(_("class code"), max_length=12, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("class")
        verbose_name_plural = _("classes")
        ordering: ClassVar[list[str]] = ["name"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["swap_day", "name"], name="swap_class_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Pupil(models.Model):
    """A pupil at a swap day. Deliberately nothing but a nickname and the class: no
    e-mail, phone, real name or account. `token_hash` is the SHA-256 of the secret in the
    pupil's session; the coordinator who created the day is the responsible adult."""

    swap_class = models.ForeignKey(SwapClass, on_delete=models.CASCADE, related_name="pupils")
    nickname = models.CharField(_("nickname"), max_length=20)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    points = models.IntegerField(_("points"))
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("pupil")
        verbose_name_plural = _("pupils")
        ordering: ClassVar[list[str]] = ["nickname"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["swap_class", "nickname"], name="pupil_nickname_unique_in_class"),
            models.CheckConstraint(condition=Q(points__gte=0), name="pupil_points_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.nickname} ({self.swap_class})"


class SwapBookStatus(models.TextChoices):
    OFFERED = "offered", _("Offered")
    REQUESTED = "requested", _("Claimed, waiting for the hand-over")
    HANDED_OVER = "handed_over", _("Handed over")
    DONATED = "donated", _("Donated to the class library")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class SwapBook(models.Model):
    swap_day = models.ForeignKey(SwapDay, on_delete=models.CASCADE, related_name="books")
    offered_by = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="books_offered")
    isbn = models.CharField(_("ISBN-13"), max_length=13)
    title = models.CharField(_("title"), max_length=200)
    status = models.CharField(
        _("status"), max_length=12, choices=SwapBookStatus.choices, default=SwapBookStatus.OFFERED
    )
    offered_at = models.DateTimeField(_("offered at"))
    first_refusal_until = models.DateTimeField(
        _("reserved for wishers until"), null=True, blank=True, help_text=_("Set when someone had wished for it.")
    )
    requested_by = models.ForeignKey(
        Pupil, on_delete=models.SET_NULL, null=True, blank=True, related_name="books_requested"
    )
    requested_at = models.DateTimeField(null=True, blank=True)
    handed_over_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    donated_to = models.CharField(_("donated to"), max_length=80, blank=True)

    class Meta:
        verbose_name = _("offered book")
        verbose_name_plural = _("offered books")
        ordering: ClassVar[list[str]] = ["-offered_at", "-pk"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(
                condition=Q(requested_by__isnull=True) | ~Q(requested_by=models.F("offered_by")),
                name="swap_book_not_claimed_by_giver",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class SwapWish(models.Model):
    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="wishes")
    isbn = models.CharField(_("ISBN-13"), max_length=13)
    title = models.CharField(_("title"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("wish")
        verbose_name_plural = _("wishes")
        ordering: ClassVar[list[str]] = ["created_at", "pk"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["pupil", "isbn"], name="swap_wish_unique"),
        ]

    def __str__(self) -> str:
        return self.title or self.isbn
