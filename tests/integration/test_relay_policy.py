"""The policy server over a real socket against a real Redis (POSTBODE_TEST_REDIS_URL, a database per
pytest-xdist worker), and the credential page reading its counters."""

import socket
import threading

import pytest
import redis
from django.urls import reverse

from relay.policy import PolicyServer, SendingLimits, counter_key, hour_window, usage
from relay.policy import redis_client as relay_redis_client
from tests.conftest import require_service, test_redis_url

pytestmark = pytest.mark.integration
REDIS_URL = test_redis_url()


@pytest.fixture
def redis_client():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError:
        require_service(False, f"Redis at {REDIS_URL}")
    for key in client.scan_iter("relay:*"):
        client.delete(key)
    yield client
    for key in client.scan_iter("relay:*"):
        client.delete(key)


@pytest.fixture
def policy_server(redis_client):
    limits = {"relay-abc": 2, "jan@bakkerij.example": 1}
    server = PolicyServer(("127.0.0.1", 0), SendingLimits(redis_client, limit_for=limits.get))
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)  # stops at once
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def ask(sock_file, **attributes):
    request = {"request": "smtpd_access_policy", "protocol_state": "RCPT", "protocol_name": "ESMTP"}
    request.update(attributes)
    sock_file.write("".join(f"{k}={v}\n" for k, v in request.items()).encode() + b"\n")
    sock_file.flush()
    answer = sock_file.readline().decode()
    assert sock_file.readline() == b"\n"
    return answer.strip()


@pytest.fixture
def policy(policy_server):
    sock = socket.create_connection(policy_server.server_address, timeout=5)
    sock_file = sock.makefile("rwb")
    yield lambda **attributes: ask(sock_file, **attributes)
    sock_file.close()
    sock.close()


def test_messages_under_the_limit_pass_and_the_next_one_is_deferred(policy):
    assert policy(sasl_username="relay-abc", instance="1.1") == "action=DUNNO"
    assert policy(sasl_username="relay-abc", instance="1.2") == "action=DUNNO"
    answer = policy(sasl_username="relay-abc", instance="1.3")
    assert answer.startswith("action=DEFER_IF_PERMIT 4.7.1 ")
    assert "relay-abc" in answer


def test_further_recipients_of_one_message_count_once(policy):
    for _recipient in range(5):
        assert policy(sasl_username="relay-abc", instance="2.1") == "action=DUNNO"
    assert usage(["relay-abc"], client=redis.Redis.from_url(REDIS_URL)) == {"relay-abc": 1}


def test_a_deferred_message_does_not_use_up_the_allowance(policy, redis_client):
    policy(sasl_username="jan@bakkerij.example", instance="3.1")
    policy(sasl_username="jan@bakkerij.example", instance="3.2")
    policy(sasl_username="jan@bakkerij.example", instance="3.3")
    assert int(redis_client.get(counter_key("jan@bakkerij.example", hour_window()))) == 1
    assert redis_client.ttl(counter_key("jan@bakkerij.example", hour_window())) > 3600


def test_unauthenticated_unknown_and_other_stages_are_not_counted(policy, redis_client):
    assert policy(instance="4.1") == "action=DUNNO"
    assert policy(sasl_username="stranger", instance="4.2") == "action=DUNNO"
    assert policy(sasl_username="relay-abc", instance="4.3", protocol_state="DATA") == "action=DUNNO"
    assert list(redis_client.scan_iter("relay:sent:*")) == []


def test_one_connection_carries_many_requests_and_users_are_counted_apart(policy):
    answers = [policy(sasl_username="relay-abc", instance=f"5.{i}") for i in range(3)]
    answers += [policy(sasl_username="jan@bakkerij.example", instance="6.1")]
    assert answers == ["action=DUNNO", "action=DUNNO", answers[2], "action=DUNNO"]
    assert answers[2].startswith("action=DEFER_IF_PERMIT")


def test_redis_down_fails_open(redis_client):
    dead = relay_redis_client("redis://127.0.0.1:1/0")
    server = PolicyServer(("127.0.0.1", 0), SendingLimits(dead, limit_for=lambda _u: 1))
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)  # stops at once
    thread.start()
    try:
        with socket.create_connection(server.server_address, timeout=5) as sock:
            sock_file = sock.makefile("rwb")
            assert ask(sock_file, sasl_username="relay-abc", instance="7.1") == "action=DUNNO"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.django_db
def test_usage_this_hour_is_read_from_the_policy_services_counters(owner_client, credential, settings):
    settings.RELAY_POLICY_REDIS_URL = REDIS_URL
    import redis

    from relay.policy import counter_key, hour_window

    client = redis.Redis.from_url(settings.RELAY_POLICY_REDIS_URL)
    try:
        reachable = bool(client.ping())
    except redis.RedisError:
        reachable = False
    require_service(reachable, f"Redis at {settings.RELAY_POLICY_REDIS_URL}")
    key = counter_key(credential.username, hour_window())
    client.set(key, 7, ex=60)
    try:
        response = owner_client.get(reverse("relay:credential_list"))
    finally:
        client.delete(key)
    assert response.context["credentials"] == [(credential, 7)]
    limit = credential.customer.plan.hourly_send_limit
    assert f"7 of {limit}" in response.content.decode()
