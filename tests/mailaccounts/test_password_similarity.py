import pytest
from django.core.exceptions import ValidationError

from mailaccounts.services.mailboxes import check_mailbox_password


def test_a_password_too_like_the_display_name_is_refused_with_a_message():
    with pytest.raises(ValidationError) as error:
        check_mailbox_password(
            "Anneke-de-Vries",
            local_part="info",
            address="info@bakkerij.example",
            display_name="Anneke de Vries",
        )
    assert "too similar" in " ".join(error.value.message_dict["password1"])


def test_a_password_too_like_the_local_part_is_refused_with_a_message():
    with pytest.raises(ValidationError):
        check_mailbox_password(
            "verkoop-afdeling1", local_part="verkoopafdeling", address="verkoopafdeling@b.example"
        )
