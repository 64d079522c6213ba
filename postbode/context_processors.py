from django.conf import settings

from tenants.access import may_manage_mail
from tenants.models import vat_percent


def panel(request):
    membership = getattr(request, "membership", None)
    return {
        "site_name": settings.SITE_NAME,
        "membership": membership if membership else None,
        "customer": membership.customer if membership else None,
        "manages_mail": may_manage_mail(membership),
        "vat_percent": vat_percent(),
    }
