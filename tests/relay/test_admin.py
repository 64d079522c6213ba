from django.urls import reverse

from relay.ingest import ingest_lines
from relay.models import RelayMessage
from tests.relay.logs import EXPIRED, MIXED


def test_staff_see_credentials_without_their_secret(staff_client, credential):
    response = staff_client.get(reverse("admin:relay_relaycredential_change", args=[credential.pk]))
    assert response.status_code == 200
    assert credential.username in response.content.decode()
    assert credential.secret_hash not in response.content.decode()


def test_staff_can_disable_a_credential_with_an_admin_action(staff_client, credential):
    response = staff_client.post(
        reverse("admin:relay_relaycredential_changelist"),
        {"action": "disable", "_selected_action": [credential.pk]},
    )
    assert response.status_code == 302
    credential.refresh_from_db()
    assert not credential.is_enabled


def test_staff_search_the_whole_relay_log_by_queue_id_message_id_and_address(staff_client, credential):
    ingest_lines(MIXED.splitlines())
    url = reverse("admin:relay_relaymessage_changelist")
    for term, queue_ids in [
        ("4F3A21C0ABC", {"4F3A21C0ABC"}),
        ("abc@sender.example", {"6C8D41C0AAA"}),
        ("nobody@klant.example", {"4F3A21C0ABC"}),
        ("shop@bakkerij.example", {"4F3A21C0ABC", "5B7C31C0DEF"}),  # as sender, and as the bounce's recipient
    ]:
        response = staff_client.get(url, {"q": term})
        assert {m.queue_id for m in response.context["cl"].result_list} == queue_ids, term
    message = RelayMessage.objects.get(queue_id="4F3A21C0ABC")
    detail = staff_client.get(reverse("admin:relay_relaymessage_change", args=[message.pk]))
    assert "User unknown" in detail.content.decode()


def test_relay_log_admin_filters_by_status_and_host(staff_client, credential):
    ingest_lines(MIXED.splitlines())
    url = reverse("admin:relay_relaymessage_changelist")
    response = staff_client.get(url, {"status__exact": "bounced", "host": "mx1"})
    assert [m.queue_id for m in response.context["cl"].result_list] == ["4F3A21C0ABC"]


def test_customers_cannot_reach_the_admin(owner_client):
    response = owner_client.get(reverse("admin:relay_relaymessage_changelist"))
    assert response.status_code == 302


def test_the_relay_log_admin_never_scans_the_log_for_distinct_values(staff_client, credential):
    """Hosts and dates in the sidebar come from small tables and fixed ranges, not from DISTINCT over
    millions of relay log rows."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ingest_lines(MIXED.splitlines())
    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(reverse("admin:relay_relaymessage_changelist"))
    assert response.status_code == 200
    scans = [q["sql"] for q in queries if "DISTINCT" in q["sql"].upper() and "relay_relaymessage" in q["sql"]]
    assert scans == []


def test_staff_search_finds_message_ids_in_brackets_and_credentials_by_username(staff_client, credential):
    ingest_lines(MIXED.splitlines())
    url = reverse("admin:relay_relaymessage_changelist")
    for term, queue_ids in [
        ("<order-1001@bakkerij.example>", {"4F3A21C0ABC"}),
        (" order-1001@bakkerij.example ", {"4F3A21C0ABC"}),
        ("4f3a21c0abc", {"4F3A21C0ABC"}),
        ("NOBODY@klant.example", {"4F3A21C0ABC"}),
        ("info@bakkerij.example", {"6C8D41C0AAA"}),  # the alias it was addressed to
        (credential.username, {"4F3A21C0ABC"}),
        ("nothing@nowhere.example", set()),
    ]:
        response = staff_client.get(url, {"q": term})
        assert {m.queue_id for m in response.context["cl"].result_list} == queue_ids, term


def test_staff_search_uses_indexed_exact_lookups_and_says_when_it_was_cut(
    staff_client, credential, monkeypatch
):
    """No upper-case comparisons (no index holds them: a scan of the whole log per search), a fixed number
    of queries, and a warning when more messages match than the search shows."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    import relay.search

    ingest_lines((EXPIRED + MIXED).splitlines())
    url = reverse("admin:relay_relaymessage_changelist")
    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(url, {"q": "shop@bakkerij.example"})
    assert not any("UPPER(" in q["sql"].upper() for q in queries.captured_queries)
    everything = {"4F3A21C0ABC", "7D9E51C0BBB", "5B7C31C0DEF"}  # two sent by it, a bounce sent to it
    assert {m.queue_id for m in response.context["cl"].result_list} == everything
    assert "Many messages match" not in response.content.decode()

    monkeypatch.setattr(relay.search, "STAFF_SEARCH_LIMIT", 1)
    with CaptureQueriesContext(connection) as fewer:
        response = staff_client.get(url, {"q": "shop@bakkerij.example"})
    assert len(fewer.captured_queries) == len(queries.captured_queries)
    assert "Many messages match" in response.content.decode()
    # The newest of the two it sent, and the bounce (the only message sent to it).
    assert {m.queue_id for m in response.context["cl"].result_list} == {"4F3A21C0ABC", "5B7C31C0DEF"}


def test_the_rejected_attempts_admin_never_scans_for_distinct_values_and_filters_by_dsn(
    staff_client, credential
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ingest_lines(MIXED.splitlines())
    url = reverse("admin:relay_rejectedattempt_changelist")
    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(url)
    assert response.status_code == 200
    scans = [
        q["sql"] for q in queries if "DISTINCT" in q["sql"].upper() and "relay_rejectedattempt" in q["sql"]
    ]
    assert scans == []
    assert len(response.context["cl"].result_list) == 2
    response = staff_client.get(url, {"dsn": "5.7.1", "host": "mx1"})
    assert {r.dsn for r in response.context["cl"].result_list} == {"5.7.1"}


def test_staff_search_refused_attempts_by_address_or_client_ip_with_indexed_lookups(staff_client, credential):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ingest_lines(MIXED.splitlines())
    url = reverse("admin:relay_rejectedattempt_changelist")
    for term, senders in [
        ("spam@spam.example", {"spam@spam.example"}),
        ("VICTIM@elders.example", {"spam@spam.example"}),  # the recipient, typed in capitals
        ("203.0.113.5", {"ceo@concurrent.example"}),
        ("203.0.113", set()),  # not an address: no scan for part of one
        ("nobody@nowhere.example", set()),
    ]:
        with CaptureQueriesContext(connection) as queries:
            response = staff_client.get(url, {"q": term})
        assert {r.sender for r in response.context["cl"].result_list} == senders, term
        assert not any("UPPER(" in q["sql"].upper() for q in queries.captured_queries)
