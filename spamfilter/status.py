"""rspamd's own status, asked from its controller on the mail host (`/stat`) and kept for the admin."""

import json
import urllib.error
import urllib.request

from django.conf import settings
from django.utils import timezone

from .models import SpamHost

KEPT = ["version", "uptime", "scanned", "learned", "spam_count", "ham_count", "actions", "connections"]


def check_status(spam_host: SpamHost, *, timeout: float = 3.0) -> bool:
    """Ask the controller (with its password); store what it says (or why it could not be asked). True when
    rspamd answers."""
    url = spam_host.controller_url.rstrip("/") + "/stat"
    request = urllib.request.Request(url, headers={"Password": settings.RSPAMD_CONTROLLER_PASSWORD})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - a configured http URL
            stat = json.load(response)
        status, error, is_up = {key: stat.get(key) for key in KEPT}, "", True
    except (OSError, ValueError, urllib.error.URLError) as problem:
        status, error, is_up = {}, str(problem)[:1000], False
    SpamHost.objects.filter(pk=spam_host.pk).update(
        is_up=is_up, status=status, status_error=error, status_checked_at=timezone.now()
    )
    return is_up
