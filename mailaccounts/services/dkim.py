"""DKIM keys: generation with dkimpy, selectors, and rotation that never loses mail.

A key's life: "to publish" (its DNS record is shown to the customer) → "signing" once the DNS checker has
seen the record live → "retiring" when a newer key of the same algorithm takes over (its record must stay
for DKIM_RETIRE_GRACE_DAYS so mail in flight still verifies) → "retired" (the customer may remove the record).
"""

import base64
import re
import tempfile
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from dkim import dknewkey

from mailhosts.revisions import mark_changed
from tenants.audit import Actor, record

from ..crypto import encrypt_private_key
from ..models import DkimKey, Domain

SELECTOR_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
CURRENT_STATES = (DkimKey.State.PUBLISH, DkimKey.State.ACTIVE)
PUBLISHED_STATES = (DkimKey.State.PUBLISH, DkimKey.State.ACTIVE, DkimKey.State.RETIRING)


def validate_selector(value: str) -> str:
    """A selector is one DNS label: ASCII letters, digits and inner hyphens, at most 63 characters."""
    selector = (value or "").strip().lower()
    if not selector:
        raise ValidationError(_("Enter a selector."), code="required")
    if len(selector) > 63:
        raise ValidationError(_("A selector has at most 63 characters."), code="too_long")
    if not SELECTOR_PATTERN.fullmatch(selector):
        raise ValidationError(
            _(
                "A selector may contain only the letters a-z, digits and hyphens (not first or last); "
                "no dots, spaces or other characters."
            ),
            code="invalid",
        )
    return selector


def auto_selector(domain: Domain, algorithm: str, *, today=None) -> str:
    """`pbYYYYMM` (RSA) or `pbYYYYMMed` (Ed25519), with a letter added when that one is taken."""
    today = today or timezone.localdate()
    base = f"pb{today:%Y%m}" + ("ed" if algorithm == DkimKey.Algorithm.ED25519 else "")
    taken = set(domain.dkim_keys.values_list("selector", flat=True))
    for suffix in ["", *"bcdefghijklmnopqrstuvwxyz"]:
        if base + suffix not in taken:
            return base + suffix
    return f"{base}{timezone.now():%d%H%M%S}"


def make_key_pair(algorithm: str) -> tuple[bytes, str]:
    """Generate a key pair with dkimpy's dknewkey: (private key file bytes, public key as base64 for p=)."""
    with tempfile.TemporaryDirectory(prefix="dkimkey-") as workdir:
        private_file = str(Path(workdir) / "key.private")
        dns_file = str(Path(workdir) / "key.dns")
        if algorithm == DkimKey.Algorithm.ED25519:
            signing_key = dknewkey.GenEd25519Keys(private_file, verbose=False)
            dknewkey.ExtractEd25519PublicKey(dns_file, signing_key, verbose=False)
        else:
            dknewkey.GenRSAKeys(private_file, verbose=False)
            dknewkey.ExtractRSADnsPublicKey(private_file, dns_file, verbose=False)
        private_key = Path(private_file).read_bytes()
        dns_value = Path(dns_file).read_text()
    public_key = dns_value.split("p=", 1)[1].strip()
    if algorithm == DkimKey.Algorithm.ED25519:
        private_key = ed25519_seed_to_pem(private_key)
    return private_key, public_key


def ed25519_seed_to_pem(seed_base64: bytes) -> bytes:
    """dknewkey writes an Ed25519 key as the base64 of its 32-byte seed; OpenDKIM (through OpenSSL) reads
    PKCS#8 PEM, as for RSA. Stored keys are PEM for both types, so a key file is the same for every signer."""
    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(seed_base64))
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def ed25519_seed(private_key_pem: bytes) -> bytes:
    """The base64 seed dkimpy's `dkim.sign` takes for an Ed25519 key stored as PEM."""
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.b64encode(raw)


def dkim_txt_value(key: DkimKey) -> str:
    return f"v=DKIM1; k={key.algorithm}; p={key.public_key}"


def signing_keys(domain: Domain):
    """The keys outgoing mail is signed with: the active keys. An active Ed25519 key signs too, beside the
    RSA key, through the second OpenDKIM instance (see provisioning.render)."""
    return domain.dkim_keys.filter(state=DkimKey.State.ACTIVE).order_by("-algorithm", "-activated_at")


def published_keys(domain: Domain):
    return domain.dkim_keys.filter(state__in=PUBLISHED_STATES).order_by("algorithm", "created_at")


@transaction.atomic
def generate_dkim_key(
    *, domain: Domain, actor: Actor, algorithm: str = DkimKey.Algorithm.RSA, selector: str = ""
) -> DkimKey:
    """The first key of an algorithm for a domain. Ed25519 only beside an RSA key (many receivers lack it)."""
    current = domain.dkim_keys.select_for_update().filter(state__in=CURRENT_STATES)
    if current.filter(algorithm=algorithm).exists():
        raise ValidationError(
            _("This domain already has a key of this type; rotate it instead."), code="exists"
        )
    if (
        algorithm == DkimKey.Algorithm.ED25519
        and not current.filter(algorithm=DkimKey.Algorithm.RSA).exists()
    ):
        raise ValidationError(
            _("An Ed25519 key is published beside an RSA key, never alone: create the RSA key first."),
            code="ed25519_alone",
        )
    key = _create_key(domain=domain, algorithm=algorithm, selector=selector)
    record(actor, "dkim.generate", customer=domain.customer, obj=key, changes=_facts(key))
    return key


@transaction.atomic
def rotate_dkim_key(
    *, domain: Domain, actor: Actor, algorithm: str = DkimKey.Algorithm.RSA, selector: str = ""
) -> DkimKey:
    """A new key to publish beside the signing one; it signs once its record is seen live."""
    keys = domain.dkim_keys.select_for_update().filter(algorithm=algorithm)
    if not keys.filter(state=DkimKey.State.ACTIVE).exists():
        raise ValidationError(_("There is no signing key of this type to rotate."), code="no_active")
    if keys.filter(state=DkimKey.State.PUBLISH).exists():
        raise ValidationError(
            _("A new key is already waiting to be published; publish its record first."), code="pending"
        )
    key = _create_key(domain=domain, algorithm=algorithm, selector=selector)
    record(actor, "dkim.rotate", customer=domain.customer, obj=key, changes=_facts(key))
    return key


def _create_key(*, domain: Domain, algorithm: str, selector: str) -> DkimKey:
    if algorithm not in DkimKey.Algorithm.values:
        raise ValidationError(_("Unknown key type."), code="algorithm")
    selector = validate_selector(selector) if selector else auto_selector(domain, algorithm)
    if domain.dkim_keys.filter(selector=selector).exists():
        raise ValidationError(_("This selector is already used for this domain."), code="selector_taken")
    private_key, public_key = make_key_pair(algorithm)
    key = DkimKey.objects.create(
        domain=domain,
        selector=selector,
        algorithm=algorithm,
        private_key_encrypted=encrypt_private_key(private_key),
        public_key=public_key,
        state=DkimKey.State.PUBLISH,
    )
    mark_changed(key, host=domain.mailhost)
    return key


@transaction.atomic
def activate_published_keys(*, domain: Domain, live_selectors: set[str], actor: Actor) -> list[DkimKey]:
    """Keys waiting to be published whose record is seen live start signing; the key they replace retires.

    Called by the DNS checker with the selectors whose record matched exactly.
    """
    now = timezone.now()
    waiting = domain.dkim_keys.select_for_update().filter(
        state=DkimKey.State.PUBLISH, selector__in=live_selectors
    )
    activated = []
    for key in waiting:
        for old in domain.dkim_keys.filter(state=DkimKey.State.ACTIVE, algorithm=key.algorithm):
            _set_state(old, DkimKey.State.RETIRING, "retiring_at", now, actor)
        _set_state(key, DkimKey.State.ACTIVE, "activated_at", now, actor)
        activated.append(key)
    return activated


@transaction.atomic
def retire_expired_keys(*, actor: Actor, now=None) -> list[DkimKey]:
    """Retiring keys past the grace period are retired: their record may now be removed."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.DKIM_RETIRE_GRACE_DAYS)
    expired = DkimKey.objects.select_for_update().filter(
        state=DkimKey.State.RETIRING, retiring_at__lte=cutoff
    )
    retired = []
    for key in expired.select_related("domain__mailhost", "domain__customer"):
        _set_state(key, DkimKey.State.RETIRED, "retired_at", now, actor)
        retired.append(key)
    return retired


def retire_after(key: DkimKey):
    """When a retiring key's record may be removed."""
    if key.retiring_at is None:
        return None
    return key.retiring_at + timedelta(days=settings.DKIM_RETIRE_GRACE_DAYS)


def _set_state(key: DkimKey, state: str, stamp_field: str, now, actor: Actor) -> None:
    old_state = key.state
    key.state = state
    setattr(key, stamp_field, now)
    key.save(update_fields=["state", stamp_field])
    mark_changed(key, host=key.domain.mailhost)
    record(
        actor,
        f"dkim.{state}",
        customer=key.domain.customer,
        obj=key,
        changes={"state": [old_state, state]},
    )


def _facts(key: DkimKey) -> dict:
    return {"selector": key.selector, "algorithm": key.algorithm, "state": key.state}
