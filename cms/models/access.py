"""The Wagtail group and image collection that give an organisation's members access to
its own pages (kept by cms.services.access.organisation_cms_access)."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.models import Collection

from marketplace.models import Organisation


class OrganisationCmsAccess(models.Model):
    organisation = models.OneToOneField(Organisation, on_delete=models.CASCADE, related_name="cms_access")
    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="cms_organisation")
    collection = models.ForeignKey(Collection, on_delete=models.PROTECT, related_name="+")
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("organisation CMS access")
        verbose_name_plural = _("organisation CMS access")

    def __str__(self) -> str:
        return str(self.group)
