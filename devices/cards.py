"""The device set-up's cards on the mail accounts' pages (`postbode/templatetags/postbode.py` shows them): what
they need and no more, so that rendering any template does not load the views' QR codes and profile signing."""

from . import services
from .clients import facts
from .endpoints import settings_for_domain, settings_for_mailbox


def mailbox_settings_context(mailbox) -> dict:
    """For the mailbox page's "settings at a glance" card."""
    client = settings_for_mailbox(mailbox)
    return {"mailbox": mailbox, "client": client, "values": facts(mailbox)}


def domain_shared_context(domain) -> dict:
    """For the domain page's "company calendar and address book" card."""
    return {
        "domain": domain,
        "shared": services.shared_collections_for(domain),
        "dav_url": settings_for_domain(domain, username="").dav_url,
    }
