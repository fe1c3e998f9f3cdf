"""The embedded local run of `make run`: SQLite, eager Celery, e-mails on the console."""

from .base import *  # noqa: F403
from .base import env_bool

DEBUG = env_bool("DJANGO_DEBUG", True)
