"""Authentication backends that keep the logged-in user in the cache.

Django reads the user from the database on every request of a logged-in member; with the
page cache (marketplace/page_cache.py) that read is most of what a member's cached page
costs. These backends are Django's and allauth's with `get_user` answered from the cache
(`authuser:<pk>`); every save or delete of a user drops the entry (after commit, and at
once), so a deactivated account, a new password or a changed staff flag counts on the next
request — Django still checks the session's password hash against the user it gets. The
entries also expire after `AUTH_USER_CACHE_SECONDS` (bounding anything that changed a user
without saving it, such as a bulk update). Without a shared cache (`CACHE_URL` unset) the
cache is per process, so the lifetime is 0 there and every request reads the database."""

from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db import transaction

PREFIX = "authuser:"


def _seconds() -> int:
    return int(getattr(settings, "AUTH_USER_CACHE_SECONDS", 0))


class CachedUserMixin:
    def get_user(self, user_id: Any) -> Any:
        seconds = _seconds()
        if seconds <= 0:
            return super().get_user(user_id)  # type: ignore[misc]
        key = f"{PREFIX}{user_id}"
        user = cache.get(key)
        if user is None:
            user = super().get_user(user_id)  # type: ignore[misc]
            if user is not None:
                cache.set(key, user, timeout=seconds)
            return user
        return user if self.user_can_authenticate(user) else None  # type: ignore[attr-defined]


class CachedModelBackend(CachedUserMixin, ModelBackend):
    pass


class CachedAllauthBackend(CachedUserMixin, AuthenticationBackend):
    pass


def forget_user(user_id: Any) -> None:
    key = f"{PREFIX}{user_id}"
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))


def _on_user_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    forget_user(instance.pk)


def connect() -> None:
    from django.contrib.auth import get_user_model
    from django.db.models.signals import post_delete, post_save

    post_save.connect(_on_user_changed, sender=get_user_model(), dispatch_uid="auth_backends.user_saved")
    post_delete.connect(_on_user_changed, sender=get_user_model(), dispatch_uid="auth_backends.user_deleted")
