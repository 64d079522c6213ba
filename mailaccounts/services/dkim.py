"""DKIM keys: generation with dkimpy, selectors, and rotation that never loses mail.

A key's life: "to publish" (its DNS record is shown to the customer) → "signing" once the DNS checker has
seen the record live → "retiring" when a newer key of the same algorithm takes over (its record must stay
for DKIM_RETIRE_GRACE_DAYS so mail in flight still verifies) → "retired" (the customer may remove the record).
"""

import base64
import re
from datetime import timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mailhosts.revisions import mark_changed
from tenants.audit import Actor, record

from ..crypto import encrypt_private_key
from ..models import DkimKey, Domain

RSA_BITS = 2048  # what receivers expect; 1024 is weak, 4096 does not fit a TXT string everywhere
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
    """A new key pair: (private key as PKCS#8 PEM, public key as base64 for p=).

    Generated in-process with `cryptography` (the OpenSSL library), the same keys dkimpy's `dknewkey` makes
    by running the `openssl` command twice: RSA 2048 with exponent 65537, or Ed25519. For RSA, p= is the
    SubjectPublicKeyInfo (what `openssl rsa -pubout` writes); for Ed25519 the bare 32-byte key (RFC 8463).
    """
    if algorithm == DkimKey.Algorithm.ED25519:
        ed_key = Ed25519PrivateKey.generate()
        public = ed_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return pem_of(ed_key), base64.b64encode(public).decode()
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    public = rsa_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem_of(rsa_key), base64.b64encode(public).decode()


def pem_of(key: Ed25519PrivateKey | rsa.RSAPrivateKey) -> bytes:
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
