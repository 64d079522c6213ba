"""The mailbox and alias lists: search and sorting."""

from django.db.models import Q

from tenants.models import Customer

from ..models import Alias, Mailbox

# Lists -----------------------------------------------------------------------------------------------

MAILBOX_SORTS = {
    "address": ("domain__name", "local_part"),
    "quota": ("quota_bytes", "domain__name", "local_part"),
    "usage": ("used_bytes", "domain__name", "local_part"),
    "created": ("created_at", "id"),
}
ALIAS_SORTS = {
    "address": ("domain__name", "local_part"),
    "created": ("created_at", "id"),
}


def address_search(queryset, query: str):
    """Filter by address: "jan" matches local parts and domains, "jan@bak" the two halves."""
    query = query.replace("\x00", "").strip().lower()  # PostgreSQL text cannot hold NUL
    if not query:
        return queryset
    if "@" in query:
        local, _at, domain = query.partition("@")
        return queryset.filter(local_part__startswith=local, domain__name__startswith=domain)
    return queryset.filter(Q(local_part__contains=query) | Q(domain__name__contains=query))


def ordering(sorts: dict, sort: str) -> tuple[str, list[str]]:
    """A known sort key (optionally "-" for descending) and its order_by fields; defaults to address."""
    descending = sort.startswith("-")
    key = sort.removeprefix("-")
    if key not in sorts:
        key, descending = "address", False
    fields = [f"-{field}" if descending else field for field in sorts[key]]
    return ("-" if descending else "") + key, fields


def mailbox_list(customer: Customer, *, query: str = "", sort: str = "address", deleted: bool = False):
    mailboxes = Mailbox.objects.for_customer(customer).select_related("domain__mailhost")
    mailboxes = mailboxes.deleted() if deleted else mailboxes.active()
    sort, fields = ordering(MAILBOX_SORTS, sort)
    return address_search(mailboxes, query).order_by(*fields), sort


def alias_list(customer: Customer, *, query: str = "", sort: str = "address"):
    aliases = Alias.objects.for_customer(customer).select_related("domain__mailhost")
    sort, fields = ordering(ALIAS_SORTS, sort)
    return address_search(aliases, query).order_by(*fields), sort
