"""Wagtail page types. The home page is the root of the site's page tree."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel
from wagtail.fields import RichTextField
from wagtail.models import Page


class HomePage(Page):
    intro = models.CharField(_("introduction"), max_length=255, blank=True)
    body = RichTextField(_("body"), blank=True, features=["bold", "italic", "link", "ol", "ul", "h2", "h3"])

    content_panels: ClassVar[list[FieldPanel]] = [*Page.content_panels, FieldPanel("intro"), FieldPanel("body")]
    max_count = 1
    parent_page_types: ClassVar[list[str]] = ["wagtailcore.Page"]

    class Meta:
        verbose_name = _("home page")
