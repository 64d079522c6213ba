"""Mailbox passwords: Dovecot-compatible hashes with their `{SCHEME}` prefix, and generated passwords.

Dovecot's passwd-file accepts these strings as they are (checked with `doveadm pw -t` in the tests):
`{SHA512-CRYPT}$6$...` (passlib's sha512_crypt, the same 5,000 rounds `doveadm pw` uses) and
`{ARGON2ID}$argon2id$...` (argon2-cffi). The clear password is never stored.
"""

import secrets

import argon2
from argon2.exceptions import InvalidHashError, VerificationError
from passlib.hash import sha512_crypt

SHA512_CRYPT = "SHA512-CRYPT"
ARGON2ID = "ARGON2ID"
DEFAULT_SCHEME = SHA512_CRYPT
SHA512_ROUNDS = 5000

# Argon2id tuned for a mail server that verifies on every IMAP/SMTP login: 32 MiB, 3 passes.
_argon2 = argon2.PasswordHasher(time_cost=3, memory_cost=32 * 1024, parallelism=1, type=argon2.Type.ID)

# No look-alikes (0/O, 1/l/I) so a password read off the screen is typed right the first time.
GENERATED_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
GENERATED_GROUPS = 4
GENERATED_GROUP_LENGTH = 5


def hash_password(password: str, *, scheme: str = DEFAULT_SCHEME) -> str:
    """The Dovecot passwd-file form of `password`, e.g. `{SHA512-CRYPT}$6$salt$hash`."""
    if scheme == SHA512_CRYPT:
        return "{" + SHA512_CRYPT + "}" + sha512_crypt.using(rounds=SHA512_ROUNDS).hash(password)
    if scheme == ARGON2ID:
        return "{" + ARGON2ID + "}" + _argon2.hash(password)
    raise ValueError(f"unsupported password scheme {scheme!r}")


def split_scheme(password_hash: str) -> tuple[str, str]:
    """`{SCHEME}rest` → (SCHEME, rest); ("", "") when there is no scheme prefix."""
    if not password_hash.startswith("{") or "}" not in password_hash:
        return "", ""
    scheme, _, rest = password_hash[1:].partition("}")
    return scheme.upper(), rest


def verify_password(password: str, password_hash: str) -> bool:
    """True when `password` matches a hash made by `hash_password` (either scheme)."""
    scheme, encoded = split_scheme(password_hash)
    try:
        if scheme == SHA512_CRYPT:
            return sha512_crypt.verify(password, encoded)
        if scheme == ARGON2ID:
            return _argon2.verify(encoded, password)
    except (ValueError, VerificationError, InvalidHashError):
        return False
    return False


def generate_password() -> str:
    """A strong random password, e.g. `Xk7Pq-3mZtr-9aBcd-EfGh2` (about 116 bits)."""
    groups = (
        "".join(secrets.choice(GENERATED_ALPHABET) for _ in range(GENERATED_GROUP_LENGTH))
        for _ in range(GENERATED_GROUPS)
    )
    return "-".join(groups)
