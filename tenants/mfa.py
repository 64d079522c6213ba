"""Two-factor secrets at rest: allauth's MFA adapter encrypts TOTP secrets and recovery-code seeds.

Fernet with a key derived from `MFA_ENCRYPTION_KEY` (any string; `SECRET_KEY` unless set). Stored values
carry the prefix `fernet:`; a value without it is one from before encryption, which the data migration
`0008_encrypt_two_factor_secrets` encrypted, and is read as it is only until then.
"""

import base64
import hashlib

from allauth.mfa.adapter import DefaultMFAAdapter
from cryptography.fernet import Fernet
from django.conf import settings

PREFIX = "fernet:"


def _fernet() -> Fernet:
    digest = hashlib.sha256(f"postbode-mfa:{settings.MFA_ENCRYPTION_KEY}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt_secret(text: str) -> str:
    if text.startswith(PREFIX):
        return text  # already encrypted (running the migration twice changes nothing)
    return PREFIX + _fernet().encrypt(text.encode()).decode("ascii")


def decrypt_secret(stored: str) -> str:
    if not stored.startswith(PREFIX):
        return stored
    return _fernet().decrypt(stored.removeprefix(PREFIX).encode("ascii")).decode()


def encrypt_authenticator_data(data: dict) -> dict:
    """An authenticator's data with every secret in it encrypted (TOTP secret, recovery-code seed)."""
    data = dict(data)
    for name in ("secret", "seed"):
        if isinstance(data.get(name), str):
            data[name] = encrypt_secret(data[name])
    if isinstance(data.get("migrated_codes"), list):
        data["migrated_codes"] = [encrypt_secret(code) for code in data["migrated_codes"]]
    return data


class MfaAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        return encrypt_secret(text)

    def decrypt(self, encrypted_text: str) -> str:
        return decrypt_secret(encrypted_text)
