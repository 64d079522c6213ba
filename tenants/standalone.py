"""Pages that stand alone: written to files that a web server shows while our program does not answer (the
panel restarting, the webmail's PHP-FPM restarting), so nothing of ours is there to serve a stylesheet or an
icon. Both go inside the page; the support line is the one every page's footer shows."""

import base64
import re
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _


class StandalonePageError(Exception):
    """A static file the page needs is missing or cannot go inside it."""


def support_contact() -> dict:
    """The support line as every page's footer and the suspension notice show it (settings SUPPORT_*)."""
    phone = settings.SUPPORT_PHONE
    return {
        "phone": phone,
        "phone_uri": re.sub(r"[^\d+]", "", phone),
        "hours": settings.SUPPORT_HOURS or _("Mon–Fri 9:00–17:00"),
        "email": settings.SUPPORT_EMAIL,
    }


def static_text(path: str) -> str:
    found = finders.find(path)
    if not found:
        raise StandalonePageError(f"static file {path} not found")
    return Path(found).read_text(encoding="utf-8")


def render_standalone(template: str, language: str, **context) -> str:
    """`template` in `language`, with the panel's stylesheet and icon written into it."""
    stylesheet = static_text("css/postbode.css")
    if "</" in stylesheet:  # it goes inside <style>: nothing in it may end that element
        raise StandalonePageError(
            "css/postbode.css contains '</' and cannot be written into a <style> element"
        )
    icon = base64.b64encode(static_text("img/favicon.svg").encode()).decode()
    with translation.override(language):
        return render_to_string(
            template,
            {
                "site_name": settings.SITE_NAME,
                "support": support_contact(),
                "stylesheet": mark_safe(stylesheet),  # noqa: S308 - our own file, checked above
                "icon": f"data:image/svg+xml;base64,{icon}",
                **context,
            },
        )
