"""DNS look-ups of the panel, all through resolvers from settings (tests point them at a local server)."""

import dns.resolver
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tenants.audit import Actor, record

from ..models import DomainDnsSettings


def make_resolver() -> dns.resolver.Resolver:
    """A resolver using settings.DNS_RESOLVERS / DNS_PORT / DNS_TIMEOUT; the system's when the list is empty."""
    if not settings.DNS_RESOLVERS:
        resolver = dns.resolver.Resolver(configure=True)
    else:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = list(settings.DNS_RESOLVERS)
        resolver.port = settings.DNS_PORT
    resolver.timeout = settings.DNS_TIMEOUT
    resolver.lifetime = settings.DNS_TIMEOUT
    resolver.cache = None
    return resolver


def dns_settings_for(domain):
    """The domain's DNS choices, created with defaults on first use."""
    try:
        return domain.dns_settings
    except DomainDnsSettings.DoesNotExist:
        dns_settings, _created = DomainDnsSettings.objects.get_or_create(domain=domain)
        domain.dns_settings = dns_settings
        return dns_settings


@transaction.atomic
def update_dns_settings(
    *, domain, actor: Actor, dmarc_policy: str, dmarc_report_email: str, mta_sts_mode: str
) -> None:
    dns_settings = dns_settings_for(domain)
    new = {
        "dmarc_policy": dmarc_policy,
        "dmarc_report_email": dmarc_report_email,
        "mta_sts_mode": mta_sts_mode,
    }
    changes = {
        field: [getattr(dns_settings, field), value]
        for field, value in new.items()
        if getattr(dns_settings, field) != value
    }
    if not changes:
        return
    for field, value in new.items():
        setattr(dns_settings, field, value)
    dns_settings.updated_at = timezone.now()
    dns_settings.save(update_fields=[*new, "updated_at"])
    record(actor, "dns.settings", customer=domain.customer, obj=domain, changes=changes)
