from tenants.models import AuditEntry, Customer, Membership, Subscription
from tests.conftest import make_user

VALID = {
    "name": "Fietsenmaker Jansen",
    "billing_email": "boekhouding@jansen.example",
    "address": "Kerkstraat 1",
    "postal_code": "1017 GA",
    "city": "Amsterdam",
    "country": "NL",
    "vat_number": "",
    "plan": "",
}


def newcomer_client(client):
    user = make_user("new@jansen.example")
    client.force_login(user)
    return client, user


def form_data(**overrides):
    from tenants.models import Plan

    data = dict(VALID, plan=str(Plan.objects.get(code="basis").pk))
    data.update(overrides)
    return data


def test_user_without_customer_is_sent_to_onboarding(client, db):
    client, _user = newcomer_client(client)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/onboarding/"


def test_onboarding_shows_plans_with_and_without_vat(client, db):
    client, _user = newcomer_client(client)
    page = client.get("/onboarding/").content.decode()
    assert "€\xa04.50" in page and "€\xa05.45" in page
    assert "€\xa06.00" in page and "€\xa07.26" in page


def test_onboarding_creates_customer_subscription_and_owner(client, db):
    client, user = newcomer_client(client)
    response = client.post("/onboarding/", form_data(vat_number="NL 004495445B01"))
    assert response.status_code == 302
    assert response["Location"] == "/"
    customer = Customer.objects.get(name="Fietsenmaker Jansen")
    assert customer.plan.code == "basis"
    assert customer.vat_number == "NL004495445B01"
    assert Subscription.objects.get(customer=customer, ended_at__isnull=True).plan.code == "basis"
    membership = Membership.objects.get(user=user)
    assert membership.customer == customer and membership.is_owner
    entry = AuditEntry.objects.get(action="customer.created")
    assert entry.customer == customer and entry.actor == user and entry.ip_address == "127.0.0.1"


def test_invalid_vat_number_is_refused_and_nothing_saved(client, db):
    client, _user = newcomer_client(client)
    response = client.post("/onboarding/", form_data(vat_number="NL12345"))
    assert response.status_code == 200
    assert "not a valid EU VAT number" in response.content.decode()
    assert not Customer.objects.filter(name="Fietsenmaker Jansen").exists()


def test_hostile_values_get_form_errors(client, db):
    client, _user = newcomer_client(client)
    response = client.post(
        "/onboarding/",
        form_data(
            name="x" * 500, billing_email="not-an-email", country="ZZ", plan="999", city="Ams\x00terdam"
        ),
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {"name", "billing_email", "country", "plan", "city"}
    assert not Customer.objects.exists()


def test_double_submit_creates_one_customer(client, db):
    client, _user = newcomer_client(client)
    client.post("/onboarding/", form_data())
    second = client.post("/onboarding/", form_data())
    assert second.status_code == 302
    assert Customer.objects.count() == 1


def test_member_of_a_customer_skips_onboarding(owner_client):
    assert owner_client.get("/onboarding/")["Location"] == "/"


def test_anonymous_onboarding_goes_to_login(client, db):
    assert client.get("/onboarding/")["Location"].startswith("/accounts/login/")


def test_onboarding_reminds_of_a_pending_invitation(client, customer):
    from tenants.models import Invitation

    Invitation.objects.create(customer=customer, email="new@jansen.example", token_hash="a" * 64)
    client, _user = newcomer_client(client)
    assert "invited to join Bakkerij de Vries" in client.get("/onboarding/").content.decode()


def test_the_language_of_sign_up_becomes_the_language_of_the_customers_e_mails(client, db):
    client, _user = newcomer_client(client)
    client.post("/i18n/setlang/", {"language": "nl"})
    assert client.post("/onboarding/", form_data()).status_code == 302
    assert Customer.objects.get(name="Fietsenmaker Jansen").language == "nl"

    other = make_user("en@example.com")
    client.force_login(other)
    client.post("/i18n/setlang/", {"language": "en"})
    client.post("/onboarding/", form_data(name="Bike Shop Ltd"))
    assert Customer.objects.get(name="Bike Shop Ltd").language == "en"
