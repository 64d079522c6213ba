import pytest
from django.urls import reverse
from django.utils import timezone

from mailaccounts.models import Domain
from mailhosts.models import MailHost
from relay import partitions, rollup
from relay.ingest import ingest_lines
from relay.models import RejectedAttempt, RelayCredential, RelayMessage
from relay.services import verify_secret
from tenants.models import AuditEntry
from tests.relay.logs import MIXED

OBJECT_URLS = [
    ("relay:credential_detail", "get"),
    ("relay:credential_secret", "post"),
    ("relay:credential_toggle", "post"),
    ("relay:credential_delete", "post"),
]
LIST_URLS = ["relay:credential_list", "relay:credential_add", "relay:message_list", "relay:message_export"]


@pytest.fixture
def relay_log(credential, other_domain):
    ingest_lines(MIXED.splitlines())
    # The outsider's customer gets a message of its own, which the owner must never see.
    ingest_lines(
        MIXED.replace("bakkerij.example", "concurrent.example")
        .replace("relay-7k2m9q", "relay-other")
        .replace("4F3A21C0ABC", "9F3A21C0999")
        .replace("6C8D41C0AAA", "9C8D41C0998")
        .replace("5B7C31C0DEF", "9B7C31C0997")
        .splitlines()
    )
    return RelayMessage.objects.filter(customer=credential.customer)


@pytest.mark.parametrize("name", LIST_URLS)
def test_anonymous_visitors_are_sent_to_login(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


@pytest.mark.parametrize(("name", "method"), OBJECT_URLS + [("relay:message_detail", "get")])
def test_anonymous_visitors_are_sent_to_login_from_object_pages(client, credential, name, method):
    response = getattr(client, method)(reverse(name, args=[credential.pk]))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


@pytest.mark.parametrize(("name", "method"), OBJECT_URLS)
def test_outsiders_get_404_for_another_customers_credential(outsider_client, credential, name, method):
    response = getattr(outsider_client, method)(reverse(name, args=[credential.pk]))
    assert response.status_code == 404
    credential.refresh_from_db()
    assert credential.is_enabled


def test_outsiders_get_404_for_another_customers_message(outsider_client, relay_log):
    message = relay_log.get(queue_id="4F3A21C0ABC")
    assert outsider_client.get(reverse("relay:message_detail", args=[message.pk])).status_code == 404


def test_creating_a_credential_shows_the_secret_once_and_keeps_only_its_hash(owner_client, domain):
    host_revision = domain.mailhost.desired_revision
    response = owner_client.post(reverse("relay:credential_add"), {"name": "webshop", "domains": [domain.pk]})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    credential = RelayCredential.objects.get(name="webshop")
    secret = response.context["secret"]
    assert secret in response.content.decode()
    assert len(secret) == 32 and secret.isascii() and secret.isalnum()  # one word to select, never an option
    assert credential.username.startswith("relay-")
    assert credential.secret_hash.startswith("{SHA512-CRYPT}$6$")
    assert secret not in credential.secret_hash
    assert verify_secret(secret, credential.secret_hash)
    assert list(credential.domains.all()) == [domain]
    assert MailHost.objects.get(pk=domain.mailhost_id).desired_revision == host_revision + 1
    assert credential.revision == host_revision + 1
    assert AuditEntry.objects.filter(action="relay.credential.create", customer=domain.customer).exists()
    detail = owner_client.get(reverse("relay:credential_detail", args=[credential.pk]))
    assert secret not in detail.content.decode()


def test_a_credential_may_not_send_as_someone_elses_or_an_unverified_domain(
    owner_client, domain, other_domain
):
    unverified = Domain.objects.create(
        customer=domain.customer, name="nog-niet.example", mailhost=domain.mailhost, verification_token="t"
    )
    for chosen in (other_domain, unverified):
        response = owner_client.post(
            reverse("relay:credential_add"), {"name": "shop", "domains": [chosen.pk]}
        )
        assert response.status_code == 200
        assert response.context["form"].errors["domains"]
    assert not RelayCredential.objects.exists()


@pytest.mark.parametrize("name", ["", "   ", "bad\x00name", "x" * 81])
def test_hostile_names_are_refused_with_a_form_error(owner_client, domain, name):
    response = owner_client.post(reverse("relay:credential_add"), {"name": name, "domains": [domain.pk]})
    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert not RelayCredential.objects.exists()


def test_hostile_ids_give_404_not_500(owner_client, db):
    assert owner_client.get("/relay/credentials/99999999999999999999/").status_code == 404
    assert owner_client.get("/relay/log/-1/").status_code == 404


def test_rotating_the_secret_invalidates_the_old_one(owner_client, domain):
    response = owner_client.post(reverse("relay:credential_add"), {"name": "webshop", "domains": [domain.pk]})
    old_secret = response.context["secret"]
    credential = RelayCredential.objects.get()
    response = owner_client.post(reverse("relay:credential_secret", args=[credential.pk]))
    new_secret = response.context["secret"]
    credential.refresh_from_db()
    assert new_secret != old_secret
    assert verify_secret(new_secret, credential.secret_hash)
    assert not verify_secret(old_secret, credential.secret_hash)


def test_member_can_disable_enable_and_edit_a_credential(member_client, credential, domain):
    url = reverse("relay:credential_toggle", args=[credential.pk])
    assert member_client.post(url).status_code == 302
    credential.refresh_from_db()
    assert not credential.is_enabled
    member_client.post(url)
    credential.refresh_from_db()
    assert credential.is_enabled
    response = member_client.post(
        reverse("relay:credential_detail", args=[credential.pk]), {"name": "new name", "domains": [domain.pk]}
    )
    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.name == "new name"


def test_toggle_needs_post(owner_client, credential):
    assert owner_client.get(reverse("relay:credential_toggle", args=[credential.pk])).status_code == 405


def test_deleting_a_credential_keeps_its_relay_log(owner_client, relay_log, credential):
    response = owner_client.post(reverse("relay:credential_delete", args=[credential.pk]))
    assert response.status_code == 302
    assert not RelayCredential.objects.filter(pk=credential.pk).exists()
    assert relay_log.filter(queue_id="4F3A21C0ABC", credential__isnull=True).exists()
    assert AuditEntry.objects.filter(action="relay.credential.delete").exists()


def test_credential_list_shows_usage_against_the_plan_limit(owner_client, credential):
    response = owner_client.get(reverse("relay:credential_list"))
    assert response.status_code == 200
    assert response.context["limit"] == credential.customer.plan.hourly_send_limit
    assert "webshop" in response.content.decode()


def test_relay_log_shows_only_the_customers_own_messages_and_rejects(owner_client, relay_log):
    response = owner_client.get(reverse("relay:message_list"))
    shown = {m.queue_id for m in response.context["page"].messages}
    assert shown == {"4F3A21C0ABC", "6C8D41C0AAA", "5B7C31C0DEF"}
    assert [r.sender for r in response.context["rejects"]] == ["ceo@concurrent.example"]
    assert "relay-other" not in response.content.decode()
    assert "9F3A21C0999" not in response.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "bounced"}, {"4F3A21C0ABC"}),
        ({"sender": "shop@bakkerij.example"}, {"4F3A21C0ABC"}),
        ({"recipient": "Nobody@Klant.example"}, {"4F3A21C0ABC"}),
        ({"recipient": "info@bakkerij.example"}, {"6C8D41C0AAA"}),
        ({"message_id": "<abc@sender.example>"}, {"6C8D41C0AAA"}),
        ({"status": "sent", "sender": "klant@sender.example"}, {"6C8D41C0AAA"}),
        ({"since": "2000-01-01", "until": "2000-01-02"}, set()),
    ],
)
def test_relay_log_filters(owner_client, relay_log, query, expected):
    response = owner_client.get(reverse("relay:message_list"), query)
    assert {m.queue_id for m in response.context["page"].messages} == expected


def test_credential_filter_and_foreign_credential_is_a_form_error(owner_client, relay_log, credential):
    response = owner_client.get(reverse("relay:message_list"), {"credential": credential.pk})
    assert {m.queue_id for m in response.context["page"].messages} == {"4F3A21C0ABC"}
    foreign = RelayCredential.objects.create(
        customer=RelayMessage.objects.get(queue_id="9C8D41C0998").customer,
        name="x",
        username="relay-foreign",
        secret_hash="x",
    )
    response = owner_client.get(reverse("relay:message_list"), {"credential": foreign.pk, "since": "rubbish"})
    assert response.status_code == 200
    assert response.context["form"].errors


def test_relay_log_pages_with_constant_queries(owner_client, relay_log, django_assert_max_num_queries):
    message = relay_log.get(queue_id="4F3A21C0ABC")
    owner_client.get(reverse("relay:message_list"))  # warm the session
    with django_assert_max_num_queries(12) as small:
        owner_client.get(reverse("relay:message_list"))
    for i in range(60):
        RelayMessage.objects.create(
            host="mx1", queue_id=f"AB{i:04d}CD", received_at=message.received_at, customer=message.customer
        )
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = owner_client.get(reverse("relay:message_list"))
    assert len(response.context["page"].messages) == 50
    older = owner_client.get(reverse("relay:message_list"), {"after": response.context["page"].next_cursor})
    shown = {m.pk for m in response.context["page"].messages} | {m.pk for m in older.context["page"].messages}
    assert len(shown) == relay_log.count()


def test_message_detail_explains_the_dsn_codes_and_shows_the_timeline(owner_client, relay_log):
    message = relay_log.get(queue_id="4F3A21C0ABC")
    response = owner_client.get(reverse("relay:message_detail", args=[message.pk]))
    text = response.content.decode()
    assert "This address does not exist" in text
    assert "Greylisting" in text
    assert "User unknown (in reply to RCPT TO command)" in text
    kinds = [item["kind"] for item in response.context["timeline"]]
    assert kinds[0] == "received" and kinds[-1] == "removed"
    assert kinds.count("attempt") == 4
    assert response.context["notifications"][0].queue_id == "5B7C31C0DEF"


def test_a_deferred_message_shows_its_next_retry(owner_client, credential):
    ingest_lines(MIXED.splitlines()[:13])
    message = RelayMessage.objects.get(queue_id="4F3A21C0ABC")
    assert message.recipients.get(address="piet@traag.example").status == "deferred"
    response = owner_client.get(reverse("relay:message_detail", args=[message.pk]))
    retries = [item["next_retry"] for item in response.context["timeline"] if "next_retry" in item]
    assert len(retries) == 1
    assert (retries[0] - message.received_at).total_seconds() >= 300
    assert "Next attempt around" in response.content.decode()


def test_csv_export_streams_only_the_customers_rows(owner_client, relay_log):
    response = owner_client.get(reverse("relay:message_export"))
    assert response.streaming
    body = b"".join(response.streaming_content).decode()
    assert body.startswith("received_at,queue_id")
    assert "4F3A21C0ABC" in body and "ceo@concurrent.example" in body
    assert "9F3A21C0999" not in body and "relay-other" not in body


def test_csv_export_neutralises_spreadsheet_formulas(owner_client, credential):
    ingest_lines([MIXED.splitlines()[1], MIXED.splitlines()[4].replace("shop@", "=cmd@")])
    body = b"".join(owner_client.get(reverse("relay:message_export")).streaming_content).decode()
    assert "'=cmd@bakkerij.example" in body


def moved_to_today(*querysets_and_fields) -> None:
    """Move stored rows to now, as if received today, and let the chart's roll-up count both days again
    (the ingest marks the days it changes, and makes their partitions on PostgreSQL; rows edited by hand must
    be seen to by hand)."""
    partitions.ensure_days([partitions.utc_day(timezone.now())])
    for queryset, field in querysets_and_fields:
        rollup.mark_times(queryset.values_list(field, flat=True))
        queryset.update(**{field: timezone.now()})
    rollup.mark_days([timezone.localdate()])
    rollup.refresh()


def test_daily_chart_counts_each_status(owner_client, relay_log):
    moved_to_today((RelayMessage.objects.all(), "received_at"), (RejectedAttempt.objects.all(), "at"))
    response = owner_client.get(reverse("relay:message_list"))
    today = response.context["chart"][-1]
    counts = {status: count for status, _label, count, _pct in today.segments}
    assert counts == {"sent": 2, "bounced": 1, "rejected": 1}


def test_a_suspended_customer_cannot_create_credentials(owner_client, domain):
    customer = domain.customer
    customer.status = customer.Status.SUSPENDED
    customer.save(update_fields=["status"])
    response = owner_client.post(reverse("relay:credential_add"), {"name": "webshop", "domains": [domain.pk]})
    assert response.status_code == 302
    assert not RelayCredential.objects.exists()


def test_owner_gets_404_for_the_outsiders_inbound_message(owner_client, relay_log):
    foreign = RelayMessage.objects.get(queue_id="9C8D41C0998")
    assert foreign.customer != relay_log.first().customer
    assert owner_client.get(reverse("relay:message_detail", args=[foreign.pk])).status_code == 404


def test_credential_list_queries_do_not_grow_with_credentials(
    owner_client, credential, domain, django_assert_max_num_queries
):
    owner_client.get(reverse("relay:credential_list"))
    with django_assert_max_num_queries(12) as one:
        owner_client.get(reverse("relay:credential_list"))
    for i in range(5):
        extra = RelayCredential.objects.create(
            customer=credential.customer, name=f"app {i}", username=f"relay-extra{i}", secret_hash="x"
        )
        extra.domains.add(domain)
    with django_assert_max_num_queries(len(one.captured_queries)):
        owner_client.get(reverse("relay:credential_list"))


def test_the_chart_has_an_axis_and_daily_counts_and_says_when_there_is_no_traffic(owner_client, relay_log):
    moved_to_today((RelayMessage.objects.all(), "received_at"))
    page = owner_client.get(reverse("relay:message_list"), HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert '<div class="chart-axis" aria-hidden="true"><span>' in page and "chart-counts" in page
    assert "Geen verkeer" not in page
    rollup.mark_times(RejectedAttempt.objects.values_list("at", flat=True))
    RelayMessage.objects.all().delete()
    RejectedAttempt.objects.all().delete()
    rollup.mark_days([timezone.localdate()])
    rollup.refresh()
    empty = owner_client.get(reverse("relay:message_list"), HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert "Geen verkeer in de afgelopen 14 dagen." in empty and "chart-axis" not in empty


def test_the_credential_filter_offers_the_same_options_as_djangos_iterator(
    customer, credential, other_customer
):
    """The filter reads its few credentials in one plain query (`FewChoicesIterator`, no server-side cursor):
    the same options, in the same order, as Django's own iterator gave, and only the customer's."""
    from django.forms.models import ModelChoiceIterator

    from relay.forms import MessageFilterForm

    RelayCredential.objects.create(
        customer=customer, name="nieuwsbrief & co", username="relay-2", secret_hash="x"
    )
    RelayCredential.objects.create(
        customer=other_customer, name="foreign", username="relay-3", secret_hash="x"
    )
    field = MessageFilterForm(customer=customer).fields["credential"]
    ours = [(str(value), label) for value, label in field.choices]
    field.iterator = ModelChoiceIterator
    assert ours == [(str(value), label) for value, label in field.choices]
    assert ours[0][0] == "" and sorted(label for _value, label in ours[1:]) == [
        "nieuwsbrief & co (relay-2)",
        "webshop (relay-7k2m9q)",
    ]


def test_secrets_are_letters_and_digits_spread_over_all_of_them():
    """190 random bits in 32 letters and digits: no "-" or "_" that would end a double-click selection or make
    a secret that begins with it read as a command-line option."""
    from relay.services import SECRET_ALPHABET, generate_secret

    generated = [generate_secret() for _ in range(400)]
    assert len(set(generated)) == 400
    assert all(len(secret) == 32 and secret.isascii() and secret.isalnum() for secret in generated)
    assert set("".join(generated)) == set(SECRET_ALPHABET)
