"""Data checks for staff: `manage.py check --database default` (and every `manage.py migrate` of a deploy)
warns about forwards and alias destinations the mail host never gets, one warning per object."""

from django.core import checks
from django.db import DatabaseError

from .models import Alias, Mailbox, undeliverable_addresses


@checks.register(checks.Tags.database)
def undeliverable_destinations(app_configs=None, databases=None, **kwargs) -> list[checks.CheckMessage]:
    if not databases:
        return []
    try:
        return list(_undeliverable_destinations())
    except DatabaseError:  # `migrate` checks before it migrates: a new database has no tables yet
        return []


def _undeliverable_destinations():
    forwards = (
        Mailbox.objects.filter(deleted_at__isnull=True)
        .exclude(forward_to=[])
        .values_list("local_part", "domain__name", "customer__name", "forward_to")
    )
    aliases = Alias.objects.values_list("local_part", "domain__name", "customer__name", "destinations")
    for kind, rows in (("forward", forwards), ("alias", aliases)):
        for local, domain, customer, destinations in rows.iterator():
            if bad := undeliverable_addresses(destinations or []):
                yield checks.Warning(
                    f"The {kind} {local}@{domain} (customer {customer}) names {', '.join(bad)}, which the "
                    "mail host cannot take: it is left out of the mail host's files.",
                    hint="Saved before the address rule (tenants/addresses.py). The customer sees it as "
                    "not applied; correct or remove it with them.",
                    obj=f"{local}@{domain}",
                    id="mailaccounts.W001",
                )
