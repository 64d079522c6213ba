"""DKIM private keys at rest: encrypted with a Fernet key derived from settings.DKIM_ENCRYPTION_KEY.

The setting may be any string; SHA-256 of it, urlsafe-base64 encoded, is the Fernet key. Changing the
setting makes stored keys unreadable, so production must keep it stable (README.md says so).

Also `seal`/`unseal`: a secret kept for a few minutes in the session store (a generated password on its way
to the page that shows it once), encrypted with a key derived from SECRET_KEY, so the store never holds it
in the clear, and unreadable once its time is up.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class KeyDecryptionError(Exception):
    """The stored private key could not be decrypted (DKIM_ENCRYPTION_KEY changed, or data was damaged)."""


def _fernet() -> Fernet:
    digest = hashlib.sha256(settings.DKIM_ENCRYPTION_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt_private_key(private_key_pem: bytes) -> str:
    return _fernet().encrypt(private_key_pem).decode("ascii")


def decrypt_private_key(dkim_key) -> bytes:
    """The private key of a DkimKey as the bytes of its key file: PKCS#8 PEM, which OpenDKIM reads."""
    try:
        return _fernet().decrypt(dkim_key.private_key_encrypted.encode("ascii"))
    except (InvalidToken, UnicodeEncodeError) as error:
        raise KeyDecryptionError(f"cannot decrypt the private key of {dkim_key}") from error


SEALED_SECONDS = 600


def _session_fernet() -> Fernet:
    digest = hashlib.sha256(b"postbode.sealed-secret\0" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(secret: str) -> str:
    return _session_fernet().encrypt(secret.encode()).decode("ascii")


def unseal(token: str, *, ttl: int | None = None) -> str | None:
    """The sealed secret, or None when the token is older than `ttl` seconds (SEALED_SECONDS) or damaged."""
    try:
        return _session_fernet().decrypt(token.encode("ascii"), ttl=ttl or SEALED_SECONDS).decode()
    except (InvalidToken, UnicodeError):
        return None
