"""Relay credentials: create, change, rotate the secret, enable/disable, delete.

The secret is generated here, shown to the customer once and stored only as a Dovecot-compatible
`{SHA512-CRYPT}` hash. The mail hosts of the credential's domains re-render their files after every change
(`mark_changed`), so the credential authenticates on submission and may send only as those domains.
"""

import secrets
import string
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from passlib.hash import sha512_crypt

from mailaccounts.models import Domain
from mailhosts.models import MailHost
from mailhosts.revisions import bump_revision, mark_changed
from tenants.audit import Actor, record
from tenants.models import Customer

from .models import RelayCredential

USERNAME_PREFIX = "relay-"
USERNAME_ALPHABET = string.ascii_lowercase + string.digits
# Letters and digits only: a double click selects the whole secret (a "-" or "_" ends a word in browsers and
# terminals), and one that began with "-" was read as an option by command-line tools (`doveadm auth test`).
SECRET_ALPHABET = string.ascii_letters + string.digits
SECRET_LENGTH = 32
# The secret is 190 random bits (32 of 62 symbols), so key stretching adds nothing; Dovecot's own default of
# 5000 rounds keeps every SMTP login cheap for the mail host.
HASH_ROUNDS = 5000


def generate_username() -> str:
    while True:
        username = USERNAME_PREFIX + "".join(secrets.choice(USERNAME_ALPHABET) for _i in range(10))
        if not RelayCredential.objects.filter(username=username).exists():
            return username


def generate_secret() -> str:
    return "".join(secrets.choice(SECRET_ALPHABET) for _i in range(SECRET_LENGTH))


def hash_secret(secret: str) -> str:
    return "{SHA512-CRYPT}" + sha512_crypt.using(rounds=HASH_ROUNDS).hash(secret)


def verify_secret(secret: str, secret_hash: str) -> bool:
    prefix = "{SHA512-CRYPT}"
    return secret_hash.startswith(prefix) and sha512_crypt.verify(secret, secret_hash[len(prefix) :])


def _check_domains(customer: Customer, domains: Iterable[Domain]) -> list[Domain]:
    domains = list(domains)
    if not domains:
        raise ValidationError(_("Choose at least one domain this credential may send as."))
    allowed = set(Domain.objects.for_customer(customer).verified().values_list("pk", flat=True))
    if any(domain.pk not in allowed for domain in domains):
        raise ValidationError(_("A credential may only send as your own verified domains."))
    return domains


def _hosts(domains: Iterable[Domain]) -> list[MailHost]:
    return list(MailHost.objects.filter(pk__in={d.mailhost_id for d in domains}).order_by("pk"))


def _mark_hosts(credential: RelayCredential, domains: Iterable[Domain]) -> None:
    """Each host re-renders the credential's domains on it (their sender logins) and its relay logins."""
    domains = list(domains)
    for host in _hosts(domains):
        mark_changed(credential, host=host, scope=[d.name for d in domains if d.mailhost_id == host.pk])


@transaction.atomic
def create_credential(
    *, customer: Customer, name: str, domains: Iterable[Domain], actor: Actor
) -> tuple[RelayCredential, str]:
    """Create a credential; returns it with its secret, which is not stored and cannot be shown again."""
    domains = _check_domains(customer, domains)
    secret = generate_secret()
    credential = RelayCredential.objects.create(
        customer=customer, name=name, username=generate_username(), secret_hash=hash_secret(secret)
    )
    credential.domains.set(domains)
    _mark_hosts(credential, domains)
    record(
        actor,
        "relay.credential.create",
        customer=customer,
        obj=credential,
        changes={"username": credential.username, "domains": [d.name for d in domains]},
    )
    return credential, secret


def forget_moved_domain(domain: Domain, previous_customer: Customer, actor: Actor) -> None:
    """A domain moved to another customer (`mailaccounts.services.domains.move_domain`): the credentials of
    the customer it left may no longer send as it."""
    for credential in RelayCredential.objects.filter(customer=previous_customer, domains=domain):
        credential.domains.remove(domain)
        mark_changed(credential, host=domain.mailhost)
        record(
            actor,
            "relay.credential.update",
            customer=previous_customer,
            obj=credential,
            changes={"name": credential.name, "domains": [d.name for d in credential.domains.all()]},
        )


@transaction.atomic
def update_credential(
    *, credential: RelayCredential, name: str, domains: Iterable[Domain], actor: Actor
) -> RelayCredential:
    domains = _check_domains(credential.customer, domains)
    before = list(credential.domains.all())
    credential.name = name
    credential.save(update_fields=["name"])
    credential.domains.set(domains)
    _mark_hosts(credential, set(before) | set(domains))
    record(
        actor,
        "relay.credential.update",
        customer=credential.customer,
        obj=credential,
        changes={"name": name, "domains": [d.name for d in domains]},
    )
    return credential


@transaction.atomic
def rotate_credential_secret(*, credential: RelayCredential, actor: Actor) -> str:
    """Replace the secret; the old one stops working once the mail hosts applied the change."""
    secret = generate_secret()
    credential.secret_hash = hash_secret(secret)
    credential.save(update_fields=["secret_hash"])
    _mark_hosts(credential, credential.domains.all())
    record(actor, "relay.credential.rotate_secret", customer=credential.customer, obj=credential)
    return secret


@transaction.atomic
def set_credential_enabled(*, credential: RelayCredential, enabled: bool, actor: Actor) -> RelayCredential:
    if credential.is_enabled == enabled:
        return credential
    credential.is_enabled = enabled
    credential.save(update_fields=["is_enabled"])
    _mark_hosts(credential, credential.domains.all())
    record(
        actor,
        "relay.credential.enable" if enabled else "relay.credential.disable",
        customer=credential.customer,
        obj=credential,
    )
    return credential


@transaction.atomic
def delete_credential(*, credential: RelayCredential, actor: Actor) -> None:
    """Delete the credential; its hosts re-render without it. Its relay log stays (credential set to none)."""
    domains = list(credential.domains.all())
    for host in _hosts(domains):
        bump_revision(host, scope=[d.name for d in domains if d.mailhost_id == host.pk])
    record(
        actor,
        "relay.credential.delete",
        customer=credential.customer,
        obj=credential,
        changes={"username": credential.username},
    )
    credential.delete()
