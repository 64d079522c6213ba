"""`{{ domain|dns_health }}` for the dashboard and domain pages (see mailaccounts.dnscheck.domain_health)."""

from django import template

from ..services.dnschecks import domain_health

register = template.Library()


@register.filter
def dns_health(domain):
    return domain_health(domain)


STATUS_BADGES = {
    "ok": "badge-ok",
    "missing": "badge-danger",
    "wrong": "badge-danger",
    "conflicting": "badge-danger",
}


@register.filter
def status_badge(status: str) -> str:
    return STATUS_BADGES.get(status, "badge-warn")
