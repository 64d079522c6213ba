"""The spam filter's part of a mail host's configuration (registered as the "spamfilter" renderer).

Everything goes below `spamfilter/` in the host's `config_dir`:

- `rspamd-settings.conf`: rspamd's settings map (deploy/rspamd/rspamd.conf.local.override), one entry per
  domain with settings saved and one per mailbox with settings of its own (others get actions.conf's defaults): the score from which mail is refused in the SMTP
  dialogue. A filter that is off refuses nothing by score (`NEVER_REJECT_SCORE`); block lists still apply.
- `allow-mailbox.map`, `block-mailbox.map`, `allow-domain.map`, `block-domain.map`: the lists as
  `recipient|sender` keys (deploy/rspamd/local.d/multimap.conf).
- `sieve/<sensitivity>.sieve` and `sieve/off.sieve`: the first Sieve script of every mailbox (Dovecot's
  `sieve_before`, before the autoresponder's): probable spam into Junk. Four small files whatever the host
  holds; only whole numbers from the database reach them. dovecot.conf runs the default (`normal`).
- `dovecot-userdb.d/<domain>`: for a mailbox whose filing differs from the default (its own settings or its
  domain's), the script it runs (`sieve_before`); how long its Junk folder keeps mail, when not the default
  30 days. Passwd-file lines kept as rows of `users.sqlite` (`USERS_DATABASE`), which Dovecot reads on every
  lookup through deploy/dovecot/spamfilter-sql.conf.ext: a changed setting is seen the moment its row
  commits, with no wait for Dovecot's once-a-second look at a passwd-file.

Addresses and domains come from the database and are checked with `is_safe_address`/`is_safe_token`; list
entries were validated when saved (entries.py) and are checked again here, so a line or an option can never
be injected: an entry that does not pass is left out and logged.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from mailaccounts.models import Domain, Mailbox
from mailhosts.models import MailHost
from mailhosts.rendering import (
    MODE_AUTH,
    UNSAFE,
    Assembled,
    HostConfig,
    RenderedFile,
    UserTable,
    assemble,
    is_safe_address,
    is_safe_token,
)

from .entries import is_valid_entry
from .models import (
    DEFAULT_JUNK_DAYS,
    DEFAULT_REJECT_SCORE,
    JUNK_SCORE,
    NEVER_REJECT_SCORE,
    DomainSpamPolicy,
    MailboxSpamPolicy,
    SenderListEntry,
    Sensitivity,
)

logger = logging.getLogger(__name__)

MANAGED_DIRS = ("spamfilter",)
SIEVE_ROOT = "spamfilter/sieve"  # one script per sensitivity, and "off"
MAPS = ("allow-mailbox", "block-mailbox", "allow-domain", "block-domain")
# Files assembled from one part per domain (`<file>.d/<domain>`, kept in the apply's part store).
ASSEMBLED = {
    path: Assembled(f"{path}.d")
    for path in ("spamfilter/rspamd-settings.conf", *(f"spamfilter/{name}.map" for name in MAPS))
}
# The userdb's passwd-file lines, one file per domain, kept as the rows of one SQLite table.
USERDB_PARTS = "spamfilter/dovecot-userdb.d"
USERS_DATABASE = "spamfilter/users.sqlite"
USERDB_FIELDS = UserTable(
    extra=(
        ("userdb_sieve_before", "sieve_before"),
        ("userdb_namespace/inbox/mailbox/Junk/autoexpunge", "junk_autoexpunge"),
    )
)
SCOPED_ROOTS = (*(how.parts for how in ASSEMBLED.values()), USERDB_PARTS)
JUNK_HEADER = "X-Spamd-Bar"
SPAM_HEADER = (
    "X-Spam"  # rspamd's proxy (spam_header in deploy/rspamd/rspamd.conf) for the "add header" action
)


@dataclass(frozen=True)
class Effective:
    """The settings that apply to one mailbox."""

    is_enabled: bool = True
    sensitivity: str = Sensitivity.NORMAL
    reject_score: int = DEFAULT_REJECT_SCORE
    junk_days: int = DEFAULT_JUNK_DAYS

    @property
    def junk_score(self) -> int:
        return JUNK_SCORE[Sensitivity(self.sensitivity)]

    @property
    def rspamd_reject(self) -> int:
        return int(self.reject_score) if self.is_enabled else NEVER_REJECT_SCORE


def effective(domain_policy: DomainSpamPolicy | None, mailbox_policy: MailboxSpamPolicy | None) -> Effective:
    junk_days = mailbox_policy.junk_days if mailbox_policy else DEFAULT_JUNK_DAYS
    source = domain_policy
    if mailbox_policy is not None and not mailbox_policy.inherits:
        source = mailbox_policy
    if source is None:
        return Effective(junk_days=junk_days)
    return Effective(source.is_enabled, source.sensitivity, source.reject_score, junk_days)


def render_spamfilter(host: MailHost) -> HostConfig:
    """The spam filter's files, whole (the per-domain parts and the files assembled from them)."""
    config = render_spamfilter_scoped(host, None)
    for path, how in ASSEMBLED.items():
        prefix = f"{how.parts}/"
        parts = {rel[len(prefix) :]: f.content for rel, f in config.files.items() if rel.startswith(prefix)}
        config.files[path] = RenderedFile(assemble(parts), how.mode, bump_mtime=how.bump_mtime)
    return config


def render_spamfilter_scoped(host: MailHost, scopes: frozenset[str] | None) -> HostConfig:
    """The parts of the domains named in `scopes` (every domain for None) of the files assembled from one
    part per domain (`ASSEMBLED`), and the four Junk scripts. Its queries read the domains' mailboxes only
    where they have settings or lists of their own, or where their domain's settings file mail otherwise
    than the defaults, so a change costs what its domain has settings for, not what the host holds."""
    served = Domain.objects.filter(mailhost=host).verified()
    if scopes is not None:
        served = served.filter(name__in=scopes)
    domain_policies = {p.domain_id: p for p in DomainSpamPolicy.objects.filter(domain__in=served)}
    live = Mailbox.objects.filter(domain__in=served, deleted_at__isnull=True, is_enabled=True).order_by()
    # Joined from the (few) policies to their mailboxes, not from every mailbox of the host to its policy.
    of_policies = MailboxSpamPolicy.objects.filter(
        mailbox__domain__mailhost=host,
        mailbox__domain__verified_at__isnull=False,
        mailbox__deleted_at__isnull=True,
        mailbox__is_enabled=True,
    )
    if scopes is not None:
        of_policies = of_policies.filter(mailbox__domain__in=served)
    policies = list(of_policies.select_related("mailbox"))
    mailbox_policies = {p.mailbox_id: p for p in policies}
    entries = list(
        SenderListEntry.objects.filter(domain__in=served).values_list(
            "domain_id", "mailbox_id", "kind", "value"
        )
    )
    with_lists = {entry[1] for entry in entries if entry[1] is not None}
    own = sorted(
        {(p.mailbox_id, p.mailbox.domain_id, p.mailbox.local_part) for p in policies}
        | set(live.filter(pk__in=with_lists).values_list("id", "domain_id", "local_part"))
    )
    # The mailboxes of domains whose settings file mail differently from the defaults get their script
    # through Dovecot's userdb, like those with settings of their own.
    differing = [
        pk for pk, policy in domain_policies.items() if filing(effective(policy, None)) != DEFAULT_SCRIPT
    ]
    inherited = list(
        live.filter(domain_id__in=differing)
        .exclude(pk__in=[row[0] for row in own])
        .values_list("id", "domain_id", "local_part")
    )
    needed = set(domain_policies) | {entry[0] for entry in entries} | {row[1] for row in own}
    domains = {
        pk: name for pk, name in served.filter(pk__in=needed).values_list("id", "name") if is_safe_token(name)
    }
    files = {
        f"{SIEVE_ROOT}/{name}.sieve": RenderedFile(script.encode()) for name, script in junk_scripts().items()
    }
    scripts = f"{Path(host.config_dir) / SIEVE_ROOT}"
    if UNSAFE.search(scripts.replace("/", "").replace(":", "")):
        raise ValueError(f"the host's config_dir cannot be written into Dovecot's userdb: {scripts!r}")
    own_by_domain: dict[int, list] = defaultdict(list)
    for row in own:
        own_by_domain[row[1]].append(row)
    inherited_by_domain: dict[int, list] = defaultdict(list)
    for row in inherited:
        inherited_by_domain[row[1]].append(row)
    entries_by_domain: dict[int, list] = defaultdict(list)
    for entry in entries:
        entries_by_domain[entry[0]].append(entry)
    for pk, name in domains.items():
        mine = own_by_domain[pk]
        contents = {
            "spamfilter/rspamd-settings.conf": render_settings(
                {pk: name}, domain_policies, mine, mailbox_policies
            ),
            **{
                path: file.content.decode()
                for path, file in render_maps(
                    {pk: name}, {box: (d, lp) for box, d, lp in mine}, entries_by_domain[pk]
                ).items()
            },
        }
        for path, content in contents.items():
            if content:
                files[f"{ASSEMBLED[path].parts}/{name}"] = RenderedFile(content.encode())
        userdb = "".join(
            sorted(
                userdb_line(f"{local_part}@{name}", settings, scripts)
                for box, _domain, local_part in [*mine, *inherited_by_domain[pk]]
                for settings in [effective(domain_policies.get(pk), mailbox_policies.get(box))]
            )
        )
        if userdb:
            files[f"{USERDB_PARTS}/{name}"] = RenderedFile(
                userdb.encode(),
                MODE_AUTH,  # as the mailboxes' table: Dovecot's auth process reads it
                group=settings.MAILHOST_AUTH_GROUP,
                user_table=True,
                user_database=USERS_DATABASE,
            )
    return HostConfig(files=files)


def userdb_line(address: str, settings: Effective, scripts: str) -> str:
    """The mailbox's line in the spam filter's userdb, or "" when it keeps the defaults."""
    if not is_safe_address(address):
        return ""
    fields = []
    script = filing(settings)
    if script != DEFAULT_SCRIPT:
        fields.append(f"userdb_sieve_before=file:{scripts}/{script}.sieve;bindir=~/sieve-spam-bin")
    if settings.junk_days != DEFAULT_JUNK_DAYS:
        fields.append(f"userdb_namespace/inbox/mailbox/Junk/autoexpunge={int(settings.junk_days)}d")
    return f"{address}:::::::{' '.join(fields)}\n" if fields else ""


def filing(settings: Effective) -> str:
    """The name of the Sieve script that files the mailbox's mail (see `junk_scripts`)."""
    return str(settings.sensitivity) if settings.is_enabled else "off"


DEFAULT_SCRIPT = filing(Effective())  # deploy/dovecot/dovecot.conf's sieve_before


def junk_scripts() -> dict[str, str]:
    """One script per sensitivity, and "off" (nothing filed): every mailbox runs one of them first, the
    default through dovecot.conf's `sieve_before`, any other through its row in the userdb table."""
    scripts = {str(level): render_junk_sieve(str(level), JUNK_SCORE[level]) for level in Sensitivity}
    scripts["off"] = "# Spam filter off (rendered by the panel): nothing is filed into Junk.\n"
    return scripts


def settings_entry(name: str, priority: str, recipient: str, reject: int) -> str:
    return (
        f"{name} {{\n"
        f"  priority = {priority};\n"
        f'  rcpt = ["{recipient}"];\n'
        f"  apply {{\n"
        f'    actions {{ reject = {int(reject)}; "add header" = null; "rewrite subject" = null; greylist = null; }}\n'
        f"  }}\n"
        f"}}\n"
    )


def render_settings(domains, domain_policies, mailboxes, mailbox_policies) -> str:
    """rspamd settings by recipient: a mailbox's own settings (high) before its domain's (medium).

    A message to several recipients is scanned once; rspamd applies the highest-priority entry that
    matches any of them (the Sieve scripts still file per mailbox)."""
    parts = []
    for pk in sorted(domains):
        if pk not in domain_policies:
            continue  # the defaults of deploy/rspamd/local.d/actions.conf: a new domain reloads nothing
        policy = effective(domain_policies[pk], None)
        parts.append(
            settings_entry(f"postbode_domain_{pk}", "medium", f"@{domains[pk]}", policy.rspamd_reject)
        )
    for pk, domain_id, local_part in sorted(mailboxes):
        mailbox_policy = mailbox_policies.get(pk)
        address = f"{local_part}@{domains[domain_id]}"
        if mailbox_policy is None or mailbox_policy.inherits or not is_safe_address(address):
            continue
        reject = effective(None, mailbox_policy).rspamd_reject
        parts.append(settings_entry(f"postbode_mailbox_{pk}", "high", address.lower(), reject))
    return "".join(parts)


def render_maps(domains, mailboxes, entries) -> dict[str, RenderedFile]:
    lines: dict[str, set[str]] = defaultdict(set)
    for domain_id, mailbox_id, kind, value in entries:
        if not is_valid_entry(value):
            logger.warning("left out spam list entry %r: not a valid entry", value)
            continue
        if mailbox_id is None:
            lines[f"{kind}-domain"].add(f"@{domains[domain_id]}|{value}\n")
        elif mailbox_id in mailboxes:
            _domain_id, local_part = mailboxes[mailbox_id]
            address = f"{local_part}@{domains[domain_id]}"
            if is_safe_address(address):
                lines[f"{kind}-mailbox"].add(f"{address.lower()}|{value}\n")
    return {f"spamfilter/{name}.map": RenderedFile("".join(sorted(lines[name])).encode()) for name in MAPS}


def render_junk_sieve(level: str, junk_score: int) -> str:
    """The mailbox's first Sieve script: a score of `junk_score` or more (as many "+" in rspamd's
    X-Spamd-Bar; rspamd removes any such header the sender wrote) goes to Junk, and so does mail rspamd marked
    as spam whatever its score (`X-Spam: Yes`: the sending domain's DMARC policy says quarantine). Nothing
    after it runs (no automatic reply to spam)."""
    bar = "+" * int(junk_score)
    return (
        f"# Spam filter at sensitivity {level} (rendered by the panel): probable spam into Junk.\n"
        'require ["fileinto", "mailbox"];\n'
        f'if header :matches "{JUNK_HEADER}" "{bar}*" {{\n'
        '  fileinto :create "Junk";\n'
        "  stop;\n"
        "}\n"
        f'if header :is "{SPAM_HEADER}" "Yes" {{\n'
        '  fileinto :create "Junk";\n'
        "  stop;\n"
        "}\n"
    )
