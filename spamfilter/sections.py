"""The spam filter's cards on a mailbox's and a domain's page (mailaccounts/sections.py)."""

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from mailaccounts.access import may_use_mailbox_pages
from tenants.access import may_manage_mail

from . import services
from .models import SpamResult, Verdict


def mailbox_section(request, mailbox) -> str:
    if mailbox.deleted_at is not None or not may_use_mailbox_pages(request):
        return ""
    policy = services.mailbox_policy(mailbox)
    shown = services.domain_policy(mailbox.domain) if policy.inherits else policy
    return render_to_string(
        "spamfilter/_mailbox_section.html",
        {"mailbox": mailbox, "policy": policy, "shown": shown, "counts": services.mailbox_counts(mailbox)},
        request=request,
    )


def domain_section(request, domain) -> str:
    if not may_manage_mail(getattr(request, "membership", None)):
        return ""
    return render_to_string(
        "spamfilter/_domain_section.html",
        {
            "domain": domain,
            "policy": services.domain_policy(domain),
            "counts": services.domain_counts(domain),
        },
        request=request,
    )


def relay_notes(keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """For the relay log (mailhosts/annotations.py): "Refused as spam: known spam test text" and the like."""
    hosts = {host for host, _queue_id in keys}
    queue_ids = {queue_id for _host, queue_id in keys}
    notes = {}
    results = SpamResult.objects.filter(
        host__in=hosts, queue_id__in=queue_ids, verdict__in=[Verdict.JUNK, Verdict.REFUSED]
    ).order_by("-verdict", "at")
    for result in results:
        key = (result.host, result.queue_id)
        if key in notes or key not in set(keys):
            continue
        reasons = ", ".join(result.reasons) or _("no single main reason")
        if result.verdict == Verdict.REFUSED:
            notes[key] = _("Refused as spam (score %(score)s): %(reasons)s") % {
                "score": result.score,
                "reasons": reasons,
            }
        else:
            notes[key] = _("Filed as spam (score %(score)s): %(reasons)s") % {
                "score": result.score,
                "reasons": reasons,
            }
    return notes
