import re

from django.conf import settings
from django.utils.translation import gettext as _

from tenants.access import may_manage_mail
from tenants.models import vat_percent


def support_contact() -> dict:
    """The support line as every page's footer and the suspension notice show it (settings SUPPORT_*)."""
    phone = settings.SUPPORT_PHONE
    return {
        "phone": phone,
        "phone_uri": re.sub(r"[^\d+]", "", phone),
        "hours": settings.SUPPORT_HOURS or _("Mon–Fri 9:00–17:00"),
        "email": settings.SUPPORT_EMAIL,
    }


def panel(request):
    membership = getattr(request, "membership", None)
    return {
        "site_name": settings.SITE_NAME,
        "membership": membership if membership else None,
        "customer": membership.customer if membership else None,
        "manages_mail": may_manage_mail(membership),
        # a mailbox's own user (mailaccounts.access.own_mailbox): the frame shows only their mailbox
        "own_mailbox": getattr(request, "own_mailbox", None),
        "vat_percent": vat_percent(),
        "support": support_contact(),
    }
