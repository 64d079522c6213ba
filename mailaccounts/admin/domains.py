"""Admin for domains."""

from django.contrib import admin  # noqa: F401
