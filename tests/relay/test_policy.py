"""The policy service's limits come from the customer's plan; its command refuses a bad address. (The server
over a real socket against a real Redis is in tests/integration/test_relay_policy.py.)"""

import pytest

from relay.policy import limit_for_user


def test_the_limit_comes_from_the_plan_of_the_credentials_or_mailboxs_customer(credential):
    plan = credential.customer.plan
    plan.hourly_send_limit = 42
    plan.save(update_fields=["hourly_send_limit"])
    assert limit_for_user(credential.username) == 42
    assert limit_for_user("nobody-here") is None


def test_a_mailbox_user_gets_its_customers_plan_limit(domain):
    from mailaccounts.models import Mailbox

    Mailbox.objects.create(
        customer=domain.customer, domain=domain, local_part="jan", password_hash="x", quota_bytes=10**9
    )
    assert limit_for_user("Jan@bakkerij.example") == domain.customer.plan.hourly_send_limit


def test_relaypolicy_command_refuses_a_bad_listen_address():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError):
        call_command("relaypolicy", "--listen", "nonsense")
