"""Apple configuration profiles (.mobileconfig): the mail account plus CalDAV and CardDAV accounts of one
mailbox, without a password (the device asks for it), signed as PKCS#7 so iOS and macOS show it verified.

The profile is a property list written by `plistlib`, which escapes whatever an address or display name
holds. It is signed with settings.DEVICE_PROFILE_SIGNING_CERT/KEY (the panel's TLS certificate in
production); without them, with a throw-away self-signed certificate kept in VAR_DIR.
"""

import datetime
import functools
import plistlib
import uuid
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.utils.translation import gettext as _

from mailaccounts.models import Mailbox

from .endpoints import settings_for_mailbox

PROFILE_NAMESPACE = uuid.UUID("6f1d7f52-3c1b-4f5e-9a51-0c1c2e7b9d10")


def identifier_base() -> str:
    """A reverse-DNS prefix for payload identifiers, from the panel's host name."""
    labels = [label for label in settings.AUTOCONFIG_HOST.lower().split(".") if label]
    return ".".join(reversed(labels)) or "postbode"


def payload_uuid(mailbox: Mailbox, kind: str) -> str:
    """Stable per mailbox and kind, so installing a new profile replaces the old one on the device."""
    return str(uuid.uuid5(PROFILE_NAMESPACE, f"{mailbox.pk}:{mailbox.address}:{kind}")).upper()


def build_profile(mailbox: Mailbox) -> dict:
    client = settings_for_mailbox(mailbox)
    imap, smtp = client.imap[0], client.smtp[0]
    address = mailbox.address
    name = mailbox.display_name or address
    base = f"{identifier_base()}.{mailbox.pk}"

    def payload(kind: str, payload_type: str, description: str, **fields) -> dict:
        return {
            "PayloadType": payload_type,
            "PayloadVersion": 1,
            "PayloadIdentifier": f"{base}.{kind}",
            "PayloadUUID": payload_uuid(mailbox, kind),
            "PayloadDisplayName": description,
            "PayloadDescription": description,
            **fields,
        }

    mail = payload(
        "mail",
        "com.apple.mail.managed",
        _("E-mail %(address)s") % {"address": mailbox.unicode_address},
        EmailAccountDescription=mailbox.unicode_address,
        EmailAccountName=name,
        EmailAccountType="EmailTypeIMAP",
        EmailAddress=address,
        IncomingMailServerAuthentication="EmailAuthPassword",
        IncomingMailServerHostName=imap.hostname,
        IncomingMailServerPortNumber=imap.port,
        IncomingMailServerUseSSL=True,
        IncomingMailServerUsername=address,
        OutgoingMailServerAuthentication="EmailAuthPassword",
        OutgoingMailServerHostName=smtp.hostname,
        OutgoingMailServerPortNumber=smtp.port,
        OutgoingMailServerUseSSL=True,
        OutgoingMailServerUsername=address,
        OutgoingPasswordSameAsIncomingPassword=True,
    )
    principal = f"/{address}/"
    caldav = payload(
        "caldav",
        "com.apple.caldav.account",
        _("Calendar %(address)s") % {"address": mailbox.unicode_address},
        CalDAVAccountDescription=_("Calendar %(address)s") % {"address": mailbox.unicode_address},
        CalDAVHostName=client.dav_hostname,
        CalDAVPort=client.dav_port,
        CalDAVUseSSL=True,
        CalDAVUsername=address,
        CalDAVPrincipalURL=principal,
    )
    carddav = payload(
        "carddav",
        "com.apple.carddav.account",
        _("Contacts %(address)s") % {"address": mailbox.unicode_address},
        CardDAVAccountDescription=_("Contacts %(address)s") % {"address": mailbox.unicode_address},
        CardDAVHostName=client.dav_hostname,
        CardDAVPort=client.dav_port,
        CardDAVUseSSL=True,
        CardDAVUsername=address,
        CardDAVPrincipalURL=principal,
    )
    return {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": base,
        "PayloadUUID": payload_uuid(mailbox, "profile"),
        "PayloadDisplayName": _("%(site)s: %(address)s")
        % {"site": settings.SITE_NAME, "address": mailbox.unicode_address},
        "PayloadDescription": _(
            "E-mail, calendar and contacts for %(address)s. Your device asks for the password."
        )
        % {"address": mailbox.unicode_address},
        "PayloadOrganization": settings.SITE_NAME,
        "PayloadRemovalDisallowed": False,
        "PayloadContent": [mail, caldav, carddav],
    }


def profile_bytes(mailbox: Mailbox) -> bytes:
    """The signed profile (DER PKCS#7 with the plist inside), as served with type application/x-apple-aspen-config."""
    return sign(plistlib.dumps(build_profile(mailbox), sort_keys=True))


def sign(data: bytes) -> bytes:
    certificate, chain, key = signing_material()
    builder = pkcs7.PKCS7SignatureBuilder().set_data(data).add_signer(certificate, key, hashes.SHA256())
    for extra in chain:
        builder = builder.add_certificate(extra)
    return builder.sign(serialization.Encoding.DER, [])


def signing_material():
    if settings.DEVICE_PROFILE_SIGNING_CERT:
        return load_material(settings.DEVICE_PROFILE_SIGNING_CERT, settings.DEVICE_PROFILE_SIGNING_KEY)
    return development_material(str(Path(settings.VAR_DIR) / "profile-signing"))


@functools.lru_cache(maxsize=4)
def load_material(cert_path: str, key_path: str):
    certificates = x509.load_pem_x509_certificates(Path(cert_path).read_bytes())
    key = serialization.load_pem_private_key(Path(key_path).read_bytes(), password=None)
    return certificates[0], certificates[1:], key


def development_material(directory: str):
    """A self-signed certificate made once in VAR_DIR, for `make run` without a configured certificate."""
    folder = Path(directory)
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    if not cert_path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name(
            [x509.NameAttribute(NameOID.COMMON_NAME, f"{settings.SITE_NAME} profiles (development)")]
        )
        now = datetime.datetime.now(datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .sign(key, hashes.SHA256())
        )
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        key_path.chmod(0o600)
        cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return load_material(str(cert_path), str(key_path))
