"""Billing details: the organisation's name, address, VAT number and billing e-mail, and the language of the
e-mails about the account; edited by owners and the billing role, audited, refused when invalid."""

from django.urls import reverse

from tenants.models import AuditEntry, Customer

URL = reverse("billing:details")


def details(customer, **changes):
    data = {
        "name": customer.name,
        "billing_email": customer.billing_email,
        "address": customer.address,
        "postal_code": customer.postal_code,
        "city": customer.city,
        "country": customer.country,
        "vat_number": customer.vat_number,
        "language": customer.language,
    }
    data.update(changes)
    return data


def test_the_owner_changes_the_billing_details_and_it_is_audited(owner_client, customer):
    assert customer.language == "en"  # the panel's language when it was made (the tests' is English)
    response = owner_client.post(
        URL, details(customer, billing_email="boekhouding@devries.example", city="Utrecht", language="nl")
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.billing_email, customer.city, customer.language) == (
        "boekhouding@devries.example",
        "Utrecht",
        "nl",
    )
    entry = AuditEntry.objects.get(action="customer.edited")
    assert entry.changes["city"] == ["Amsterdam", "Utrecht"]
    assert set(entry.changes) == {"billing_email", "city", "language"}
    assert "Billing details saved" in owner_client.get(URL).content.decode()


def test_the_billing_role_may_edit_and_members_and_strangers_may_not(
    billing_client, member_client, client, customer
):
    assert billing_client.get(URL).status_code == 200
    assert billing_client.post(URL, details(customer, city="Delft")).status_code == 302
    assert member_client.get(URL).status_code == 403
    assert member_client.post(URL, details(customer, city="Zwolle")).status_code == 403
    assert client.get(URL).status_code == 302  # to the login page
    customer.refresh_from_db()
    assert customer.city == "Delft"


def test_an_outsider_edits_only_their_own_customer(outsider_client, customer, other_customer):
    outsider_client.post(URL, details(other_customer, name="Concurrent Holding B.V."))
    customer.refresh_from_db()
    other_customer.refresh_from_db()
    assert customer.name == "Bakkerij de Vries" and other_customer.name == "Concurrent Holding B.V."


def test_bad_input_is_explained_in_the_users_language_and_nothing_changes(owner_client, customer):
    owner_client.post(reverse("set_language"), {"language": "nl"})
    response = owner_client.post(
        URL, details(customer, vat_number="NL123", billing_email="geen-adres", name="  ", language="fr")
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "geen geldig btw-nummer" in text.lower() or "geen geldig eu-btw-nummer" in text.lower()
    assert response.context["form"].errors.keys() == {"vat_number", "billing_email", "name", "language"}
    assert Customer.objects.get(pk=customer.pk).name == "Bakkerij de Vries"
    assert not AuditEntry.objects.filter(action="customer.edited").exists()


def test_saving_unchanged_details_records_nothing(owner_client, customer):
    response = owner_client.post(URL, details(customer), follow=True)
    assert "Nothing changed" in response.content.decode()
    assert not AuditEntry.objects.filter(action="customer.edited").exists()


def test_the_menu_shows_billing_details_to_owners_and_the_billing_role_only(
    owner_client, billing_client, member_client
):
    link = f'href="{URL}"'
    assert link in owner_client.get(reverse("dashboard")).content.decode()
    assert link in billing_client.get(reverse("dashboard")).content.decode()
    assert link not in member_client.get(reverse("dashboard")).content.decode()
