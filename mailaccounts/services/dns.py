"""DNS look-ups of the panel, all through resolvers from settings (tests point them at a local server)."""

import dns.resolver
from django.conf import settings


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
