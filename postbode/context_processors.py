from django.conf import settings

from tenants.access import may_manage_mail
from tenants.models import vat_percent
from tenants.standalone import support_contact


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
