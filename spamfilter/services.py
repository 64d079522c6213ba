"""The spam filter's operations: settings per domain and per mailbox, allow and block lists, counts.

Every change is one transaction with an audit entry, and marks the owner's policy changed on its mail host
(`mark_changed`), so the pages show it pending until the host applied it. A list change marks the policy of
its domain or mailbox (created with the defaults when it did not exist yet). Bad input raises a
ValidationError that says what is wrong, and nothing is saved.
"""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mailaccounts.models import Domain, Mailbox
from mailhosts.revisions import mark_changed
from tenants.audit import Actor, record

from .entries import MAX_ENTRIES, display_entry, parse_entries
from .models import (
    DEFAULT_JUNK_DAYS,
    JUNK_SCORE,
    MAX_JUNK_DAYS,
    MAX_REJECT_SCORE,
    MIN_REJECT_SCORE,
    Direction,
    DomainSpamPolicy,
    LearnEvent,
    ListKind,
    MailboxSpamPolicy,
    SenderListEntry,
    Sensitivity,
    SpamResult,
)

COUNT_DAYS = 30


def domain_policy(domain: Domain) -> DomainSpamPolicy:
    """The domain's settings; the defaults (not yet saved) when it has none."""
    return DomainSpamPolicy.objects.filter(domain=domain).first() or DomainSpamPolicy(domain=domain)


def mailbox_policy(mailbox: Mailbox) -> MailboxSpamPolicy:
    return MailboxSpamPolicy.objects.filter(mailbox=mailbox).first() or MailboxSpamPolicy(mailbox=mailbox)


def check_thresholds(*, sensitivity: str, reject_score: int) -> None:
    errors = {}
    if sensitivity not in Sensitivity.values:
        errors["sensitivity"] = _("Choose relaxed, normal or strict.")
    elif not MIN_REJECT_SCORE <= reject_score <= MAX_REJECT_SCORE:
        errors["reject_score"] = _("Choose a score from %(min)d to %(max)d.") % {
            "min": MIN_REJECT_SCORE,
            "max": MAX_REJECT_SCORE,
        }
    elif reject_score <= JUNK_SCORE[Sensitivity(sensitivity)]:
        errors["reject_score"] = _(
            "With %(sensitivity)s sensitivity mail goes to Junk from score %(junk)d; refuse only from a higher score."
        ) % {
            "sensitivity": Sensitivity(sensitivity).label.lower(),
            "junk": JUNK_SCORE[Sensitivity(sensitivity)],
        }
    if errors:
        raise ValidationError(errors)


def changed_fields(policy, values: dict) -> dict:
    return {
        name: [str(getattr(policy, name)), str(value)]
        for name, value in values.items()
        if not policy.pk or getattr(policy, name) != value
    }


@transaction.atomic
def update_domain_policy(
    *, actor: Actor, domain: Domain, is_enabled: bool, sensitivity: str, reject_score: int
) -> DomainSpamPolicy:
    check_thresholds(sensitivity=sensitivity, reject_score=reject_score)
    policy = domain_policy(domain)
    values = {"is_enabled": is_enabled, "sensitivity": sensitivity, "reject_score": reject_score}
    changes = changed_fields(policy, values)
    if not changes:
        return policy
    return save_policy(actor, policy, values, changes, customer=domain.customer, host=domain.mailhost)


@transaction.atomic
def update_mailbox_policy(
    *,
    actor: Actor,
    mailbox: Mailbox,
    inherits: bool,
    is_enabled: bool,
    sensitivity: str,
    reject_score: int,
    junk_days: int = DEFAULT_JUNK_DAYS,
) -> MailboxSpamPolicy:
    if mailbox.deleted_at is not None:
        raise ValidationError(_("This mailbox is deleted."))
    if not inherits:
        check_thresholds(sensitivity=sensitivity, reject_score=reject_score)
    if not 1 <= junk_days <= MAX_JUNK_DAYS:
        raise ValidationError({"junk_days": _("Choose from 1 to %(max)d days.") % {"max": MAX_JUNK_DAYS}})
    policy = mailbox_policy(mailbox)
    values = {"inherits": inherits, "junk_days": junk_days}
    if not inherits:
        values.update(is_enabled=is_enabled, sensitivity=sensitivity, reject_score=reject_score)
    changes = changed_fields(policy, values)
    if not changes:
        return policy
    return save_policy(
        actor, policy, values, changes, customer=mailbox.customer, host=mailbox.domain.mailhost
    )


def save_policy(actor, policy, values, changes, *, customer, host):
    for name, value in values.items():
        setattr(policy, name, value)
    policy.updated_at = timezone.now()
    policy.save()
    mark_changed(policy, host=host)
    record(actor, f"{policy._meta.model_name}.update", customer=customer, obj=policy, changes=changes)
    return policy


def owner_policy(domain: Domain, mailbox: Mailbox | None):
    """The policy a list belongs to, saved (with the defaults) if it was not yet."""
    policy = mailbox_policy(mailbox) if mailbox is not None else domain_policy(domain)
    if policy.pk is None:
        policy.save()
    return policy


def list_entries(domain: Domain, mailbox: Mailbox | None = None):
    return SenderListEntry.objects.filter(domain=domain, mailbox=mailbox).order_by("kind", "value")


@transaction.atomic
def add_list_entries(
    *, actor: Actor, domain: Domain, mailbox: Mailbox | None = None, kind: str, text: str
) -> list[SenderListEntry]:
    """Add one or more entries (one per line) to a domain's or mailbox's allow or block list.

    All or nothing: a wrong entry, one already on this owner's allow or block list, or a list that would
    grow past `MAX_ENTRIES` refuses the lot with a message saying why."""
    if kind not in ListKind.values:
        raise ValidationError(_("Choose the allow list or the block list."))
    if mailbox is not None and (mailbox.domain_id != domain.pk or mailbox.deleted_at is not None):
        raise ValidationError(_("This mailbox is deleted."))
    values = parse_entries(text)
    existing = dict(
        SenderListEntry.objects.select_for_update()
        .filter(domain=domain, mailbox=mailbox)
        .values_list("value", "kind")
    )
    taken = [value for value in values if value in existing]
    if taken:
        raise ValidationError(
            [
                _("%(entry)s is already on the %(list)s.")
                % {"entry": display_entry(value), "list": ListKind(existing[value]).label.lower()}
                for value in taken
            ]
        )
    if sum(1 for k in existing.values() if k == kind) + len(values) > MAX_ENTRIES:
        raise ValidationError(
            _("A list holds at most %(max)d entries; remove some first.") % {"max": MAX_ENTRIES}
        )
    entries = SenderListEntry.objects.bulk_create(
        [SenderListEntry(domain=domain, mailbox=mailbox, kind=kind, value=value) for value in values]
    )
    policy = owner_policy(domain, mailbox)
    mark_changed(policy, host=domain.mailhost)
    record(
        actor,
        "spam_list.add",
        customer=domain.customer,
        obj=mailbox or domain,
        changes={"list": kind, "added": values},
    )
    return entries


@transaction.atomic
def remove_list_entry(*, actor: Actor, entry: SenderListEntry) -> None:
    domain, mailbox = entry.domain, entry.mailbox
    entry.delete()
    mark_changed(owner_policy(domain, mailbox), host=domain.mailhost)
    record(
        actor,
        "spam_list.remove",
        customer=domain.customer,
        obj=mailbox or domain,
        changes={"list": entry.kind, "removed": entry.value},
    )


# --- what the filter did -----------------------------------------------------------------------------------


def since(days: int = COUNT_DAYS):
    return timezone.now() - timedelta(days=days)


def mailbox_counts(mailbox: Mailbox, *, days: int = COUNT_DAYS) -> dict[str, int]:
    """Delivered, filed as spam, refused and learned (reported by the user) in the last `days` days."""
    counts = SpamResult.objects.filter(
        mailbox=mailbox, direction=Direction.INBOUND, at__gte=since(days)
    ).counts()
    counts["learned"] = LearnEvent.objects.filter(mailbox=mailbox, at__gte=since(days)).count()
    return counts


def domain_counts(domain: Domain, *, days: int = COUNT_DAYS) -> dict[str, int]:
    counts = SpamResult.objects.filter(
        domain=domain, direction=Direction.INBOUND, at__gte=since(days)
    ).counts()
    counts["learned"] = LearnEvent.objects.filter(mailbox__domain=domain, at__gte=since(days)).count()
    return counts
