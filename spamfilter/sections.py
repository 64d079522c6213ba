"""The spam filter's cards on a mailbox's and a domain's page (mailaccounts/sections.py)."""

from django.template.loader import render_to_string

from tenants.access import may_manage_mail

from . import services


def mailbox_section(request, mailbox) -> str:
    if mailbox.deleted_at is not None or not may_manage_mail(getattr(request, "membership", None)):
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
