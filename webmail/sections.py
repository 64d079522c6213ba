"""Webmail's card on a mailbox's page (mailaccounts/sections.py)."""

from django.conf import settings
from django.template.loader import render_to_string

from . import services


def mailbox_section(request, mailbox) -> str:
    if mailbox.deleted_at is not None or not services.is_available():
        return ""
    return render_to_string(
        "webmail/_mailbox_section.html",
        {
            "mailbox": mailbox,
            "webmail_url": settings.WEBMAIL_URL,
            "may_open": services.may_open_webmail(request.user, mailbox),
        },
        request=request,
    )
