import pytest

from mailaccounts import passwords


@pytest.mark.parametrize("scheme", [passwords.SHA512_CRYPT, passwords.ARGON2ID])
def test_hash_carries_its_dovecot_scheme_and_verifies(scheme):
    hashed = passwords.hash_password("Brood-En-Banket-42", scheme=scheme)
    assert hashed.startswith("{" + scheme + "}$")
    assert "Brood-En-Banket-42" not in hashed
    assert passwords.verify_password("Brood-En-Banket-42", hashed)
    assert not passwords.verify_password("brood-en-banket-42", hashed)


def test_sha512_crypt_has_the_crypt_shape_dovecot_reads():
    assert passwords.hash_password("x").startswith("{SHA512-CRYPT}$6$")


def test_verify_refuses_garbage_and_unknown_schemes():
    assert not passwords.verify_password("x", "")
    assert not passwords.verify_password("x", "{PLAIN}x")
    assert not passwords.verify_password("x", "{SHA512-CRYPT}not-a-hash")
    assert not passwords.verify_password("x", "{ARGON2ID}$argon2id$broken")


def test_generated_passwords_are_long_random_and_unambiguous():
    generated = {passwords.generate_password() for _ in range(50)}
    assert len(generated) == 50
    for password in generated:
        assert len(password) == 23
        assert not set(password) & set("0O1lI")
