"""Every page a customer sees, in one list: the layout test (tests/browser/test_layout.py) holds each to a phone's
width, the Dutch-pages test (tests/postbode/test_dutch_pages.py) reads each in Dutch.

The list is checked against the URL resolver (tests/postbode/test_customer_pages.py): every url pattern is a
page here or excluded below with its reason, so a new page cannot be forgotten. A new page: add its url name
to CUSTOMER_PAGES (with the demo objects its path needs), a sign-in page to ANONYMOUS_PAGES.
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from backups.models import Restore, Snapshot, SnapshotMailbox
from mailaccounts.models import Alias, DkimKey, Domain, Mailbox
from postbode.management.commands.demo import OWNER_EMAIL
from relay.models import RelayCredential, RelayMessage
from tenants.models import Customer


@dataclass(frozen=True)
class Demo:
    """The demo customer's objects that the detail pages are about (load after `manage.py demo`)."""

    customer: Customer
    domain: Domain
    mailbox: Mailbox  # info@: plain
    other_mailbox: Mailbox  # verkoop@: a scheduled automatic reply, its own spam filter settings
    alias: Alias
    dkim_key: DkimKey
    credential: RelayCredential
    message: RelayMessage
    invoice_pk: int
    restore: Restore
    removed_mailbox: SnapshotMailbox  # a removed mailbox whose backup can still be restored

    @classmethod
    def load(cls) -> "Demo":
        customer = Customer.objects.get(memberships__user__email=OWNER_EMAIL)
        domain = customer.domains.get()
        mailbox = domain.mailboxes.get(local_part="info")
        return cls(
            customer=customer,
            domain=domain,
            mailbox=mailbox,
            other_mailbox=domain.mailboxes.get(local_part="verkoop"),
            alias=Alias.objects.filter(customer=customer).first(),
            dkim_key=domain.dkim_keys.filter(state=DkimKey.State.ACTIVE).first(),
            credential=customer.relay_credentials.first(),
            message=RelayMessage.objects.for_customer(customer).filter(status="bounced").first(),
            invoice_pk=customer.invoices.values_list("pk", flat=True).first(),
            restore=finished_restore(customer, mailbox),
            removed_mailbox=removed_mailbox_backup(customer, domain),
        )


def demo_snapshot(domain: Domain) -> Snapshot:
    """The demo's backup (the demo makes it after commit, with restic), or a record of one."""
    snapshot = Snapshot.objects.filter(host=domain.mailhost).first()
    return snapshot or Snapshot.objects.create(
        host=domain.mailhost, snapshot_id="demo0000", taken_at=timezone.now() - timedelta(hours=6)
    )


def finished_restore(customer: Customer, mailbox: Mailbox) -> Restore:
    restore = Restore.objects.filter(mailbox=mailbox).first()
    return restore or Restore.objects.create(
        customer=customer,
        mailbox=mailbox,
        source_address=mailbox.address,
        snapshot_day=timezone.localdate() - timedelta(days=1),
        folder="INBOX",
        target_folder=f"Hersteld {timezone.localdate():%Y-%m-%d}",
        status=Restore.Status.SUCCEEDED,
        messages_total=12,
        messages_done=12,
        bytes_needed=48_000,
        started_at=timezone.now() - timedelta(minutes=3),
        finished_at=timezone.now() - timedelta(minutes=2),
    )


def removed_mailbox_backup(customer: Customer, domain: Domain) -> SnapshotMailbox:
    removed = SnapshotMailbox.objects.for_customer(customer).purged().first()
    return removed or SnapshotMailbox.objects.create(
        snapshot=demo_snapshot(domain),
        customer=customer,
        mailbox=None,
        address=f"oud-personeel@{domain.name}",
        home=f"{domain.name}/oud-personeel",
        folders=[{"name": "INBOX", "messages": 31, "bytes": 1_200_000}],
        messages=31,
        bytes=1_200_000,
    )


# Pages of a signed-in owner: (url name, the demo objects its path needs).
Kwargs = Callable[[Demo], dict]
CUSTOMER_PAGES: list[tuple[str, Kwargs | None]] = [
    ("dashboard", None),
    ("mailaccounts:domain_list", None),
    ("mailaccounts:domain_add", None),
    ("mailaccounts:domain_detail", lambda d: {"pk": d.domain.pk}),
    ("mailaccounts:domain_delete", lambda d: {"pk": d.domain.pk}),
    ("mailaccounts:domain_routing", lambda d: {"pk": d.domain.pk}),
    ("mailaccounts:dns_overview", None),
    ("mailaccounts:dns_records", lambda d: {"pk": d.domain.pk}),
    ("mailaccounts:dmarc_settings", lambda d: {"pk": d.domain.pk}),
    ("mailaccounts:dkim_rotate", lambda d: {"pk": d.domain.pk, "key_pk": d.dkim_key.pk}),
    ("mailaccounts:mailbox_list", None),
    ("mailaccounts:mailbox_add", None),
    ("mailaccounts:mailbox_detail", lambda d: {"pk": d.mailbox.pk}),
    ("mailaccounts:mailbox_detail", lambda d: {"pk": d.other_mailbox.pk}),
    ("mailaccounts:mailbox_edit", lambda d: {"pk": d.mailbox.pk}),
    ("mailaccounts:mailbox_password", lambda d: {"pk": d.mailbox.pk}),
    ("mailaccounts:autoresponder", lambda d: {"pk": d.other_mailbox.pk}),
    ("mailaccounts:mailbox_signature", lambda d: {"pk": d.other_mailbox.pk}),
    ("mailaccounts:domain_signature_template", lambda d: {"pk": d.domain.pk}),
    ("mailaccounts:mailbox_delete", lambda d: {"pk": d.mailbox.pk}),
    ("mailaccounts:alias_list", None),
    ("mailaccounts:alias_add", None),
    ("mailaccounts:alias_edit", lambda d: {"pk": d.alias.pk}),
    ("mailaccounts:alias_delete", lambda d: {"pk": d.alias.pk}),
    ("spamfilter:overview", None),
    ("spamfilter:domain", lambda d: {"pk": d.domain.pk}),
    ("spamfilter:mailbox", lambda d: {"pk": d.mailbox.pk}),
    ("spamfilter:mailbox", lambda d: {"pk": d.other_mailbox.pk}),
    ("devices:device_setup", lambda d: {"pk": d.mailbox.pk}),
    ("backups:overview", None),
    ("backups:deleted_list", lambda d: {"pk": d.mailbox.pk}),
    ("backups:restore_start", lambda d: {"pk": d.mailbox.pk}),
    ("backups:restore_detail", lambda d: {"pk": d.mailbox.pk, "restore_pk": d.restore.pk}),
    ("backups:purged_restore", lambda d: {"source_pk": d.removed_mailbox.pk}),
    ("relay:credential_list", None),
    ("relay:credential_add", None),
    ("relay:credential_detail", lambda d: {"pk": d.credential.pk}),
    ("relay:message_list", None),
    ("relay:message_detail", lambda d: {"pk": d.message.pk}),
    ("plan", None),
    ("billing:invoice_list", None),
    ("billing:invoice_detail", lambda d: {"pk": d.invoice_pk}),
    ("billing:payment_list", None),
    ("billing:details", None),
    ("billing:account_cancel", None),
    ("team", None),
    ("audit_log", None),
    ("account_settings", None),
    ("account_email", None),
    ("account_change_password", None),
    ("account_reauthenticate", None),
    ("account_logout", None),
    ("mfa_index", None),
    ("mfa_list_webauthn", None),
    ("usersessions_list", None),
]

# Pages of a visitor who is not signed in: signing in, signing up, a forgotten password, an invitation.
ANONYMOUS_PAGES: list[tuple[str, dict | None]] = [
    ("account_login", None),
    ("account_signup", None),
    ("account_reset_password", None),
    ("account_reset_password_done", None),
    ("account_email_verification_sent", None),
    ("account_inactive", None),
    ("account_reset_password_from_key", {"uidb36": "1", "key": "verlopen-sleutel"}),
]
# Our own error page, as any visitor meets it.
NOT_FOUND_PATH = "/bestaat-niet/"

# Pages of a signed-up user who has no customer yet (for the demo owner they redirect to the dashboard).
NEW_USER_PAGES: list[tuple[str, dict | None]] = [("onboarding", None)]

POST_ONLY = "a form's target: GET answers 405 (test_post_only_exclusions_refuse_get)"
NOT_A_PAGE = "not an HTML page: a file, a feed for programs or a redirect"
REAUTHENTICATES = "asks for the password again first: that page (account_reauthenticate) is listed"
MAIL_HOST_API = (
    "asked by the mail host's webmail with the shared secret, a 404 for anyone else (tests/webmail)"
)
NEEDS_STATE = "a step inside a sign-in or two-factor flow that only exists while that flow runs"
# Every url name that is not a page above, and why (the resolver test fails on a name in neither).
EXCLUDED: dict[str, str] = {
    "team_invite": POST_ONLY,
    "team_invitation_cancel": POST_ONLY,
    "team_member_remove": POST_ONLY,
    "team_two_factor": POST_ONLY,
    "plan_change": POST_ONLY,
    "set_language": NOT_A_PAGE,  # the language switch: a POST sets, a GET only redirects back
    "mailaccounts:domain_verify": POST_ONLY,
    "mailaccounts:mailbox_forwarding": POST_ONLY,
    "mailaccounts:mailbox_restore": POST_ONLY,
    "mailaccounts:mailbox_panel_login": POST_ONLY,
    "mailaccounts:dns_check": POST_ONLY,
    "mailaccounts:dkim_generate": POST_ONLY,
    "relay:credential_secret": POST_ONLY,
    "relay:credential_toggle": POST_ONLY,
    "relay:credential_delete": POST_ONLY,
    "spamfilter:domain_list_add": POST_ONLY,
    "spamfilter:domain_list_remove": POST_ONLY,
    "spamfilter:mailbox_list_add": POST_ONLY,
    "spamfilter:mailbox_list_remove": POST_ONLY,
    "devices:profile_link_create": POST_ONLY,
    "devices:instructions_send": POST_ONLY,
    "devices:shared_collections_set": POST_ONLY,
    "devices:autodiscover": POST_ONLY,
    "devices:autodiscover_capitalised": POST_ONLY,
    "billing:invoice_pay": POST_ONLY,
    "billing:payment_webhook": POST_ONLY,
    "backups:deleted_restore": POST_ONLY,
    "webmail:open": POST_ONLY,
    "webmail:api_sso": MAIL_HOST_API,
    "webmail:api_password": MAIL_HOST_API,
    "webmail:api_host": MAIL_HOST_API,
    "health": NOT_A_PAGE,
    "robots_txt": NOT_A_PAGE,
    "security_txt": NOT_A_PAGE,
    "mailaccounts:dns_zone_download": NOT_A_PAGE,
    "mailaccounts:mta_sts_policy": NOT_A_PAGE,
    "relay:message_export": NOT_A_PAGE,
    "billing:invoice_pdf": NOT_A_PAGE,
    "billing:payment_return": NOT_A_PAGE,  # Mollie sends the payer back here; it redirects to the invoice
    "devices:autoconfig": NOT_A_PAGE,
    "devices:autoconfig_well_known": NOT_A_PAGE,
    "devices:profile_download": NOT_A_PAGE,
    "devices:profile_direct": NOT_A_PAGE,
    "backups:restore_progress": NOT_A_PAGE,  # the restore page's progress, as JSON
    "invitation_accept": "a link from an invitation e-mail (tests/tenants/test_team.py); a wrong one is our 404",
    "account_confirm_email": NEEDS_STATE,  # a link from the confirmation e-mail (tests/tenants/test_accounts.py)
    "account_reset_password_from_key_done": NEEDS_STATE,
    "account_set_password": NEEDS_STATE,  # every user here has a password: redirects to changing it
    "account_request_reauthentication_code": NEEDS_STATE,
    "account_confirm_reauthentication_code": NEEDS_STATE,
    "account_confirm_login_code": NEEDS_STATE,
    "mfa_activate_totp": REAUTHENTICATES,
    "mfa_add_webauthn": REAUTHENTICATES,
    "mfa_authenticate": NEEDS_STATE,
    "mfa_reauthenticate": NEEDS_STATE,
    "mfa_reauthenticate_webauthn": NEEDS_STATE,
    "mfa_login_webauthn": NEEDS_STATE,
    "mfa_deactivate_totp": NEEDS_STATE,
    "mfa_view_recovery_codes": NEEDS_STATE,
    "mfa_generate_recovery_codes": NEEDS_STATE,
    "mfa_download_recovery_codes": NEEDS_STATE,
    "mfa_remove_webauthn": NEEDS_STATE,
    "mfa_edit_webauthn": NEEDS_STATE,
}
# Whole parts of the site that are not the customer's: the staff admin (tests/postbode/test_admin_dutch.py),
# static files, the favicon.
EXCLUDED_PREFIXES = ("admin/", "static/", "^static/", "favicon.ico")


def customer_page_paths(demo: Demo) -> list[str]:
    return [reverse(name, kwargs=kwargs(demo) if kwargs else None) for name, kwargs in CUSTOMER_PAGES]


def anonymous_page_paths() -> list[str]:
    return [reverse(name, kwargs=kwargs) for name, kwargs in ANONYMOUS_PAGES]


def new_user_page_paths() -> list[str]:
    return [reverse(name, kwargs=kwargs) for name, kwargs in NEW_USER_PAGES]


def url_patterns(
    patterns=None, prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str, URLPattern]]:
    """(url name with its namespace, the route, the pattern) of every url the project answers."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from url_patterns(pattern.url_patterns, route, inner)
        else:
            yield (f"{namespace}{pattern.name}" if pattern.name else "", route, pattern)


def page_slug(path: str) -> str:
    """/domains/12/dns/ → domains-n-dns: stable screenshot names whatever the ids."""
    return re.sub(r"\d+", "n", path.strip("/").replace("/", "-")) or "dashboard"
