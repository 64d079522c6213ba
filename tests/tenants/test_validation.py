import pytest

from tenants.validation import normalize_phone, normalize_postal_code


@pytest.mark.parametrize(
    ("country", "typed", "stored"),
    [
        ("NL", "1234ab", "1234 AB"),
        ("NL", " 1234  AB ", "1234 AB"),
        ("BE", "1000", "1000"),
        ("DE", "10115", "10115"),
    ],
)
def test_postcodes_are_stored_as_the_country_writes_them(country, typed, stored):
    assert normalize_postal_code(typed, country) == stored


@pytest.mark.parametrize(
    ("country", "typed"), [("NL", "abc"), ("NL", "0123 AB"), ("BE", "12345"), ("DE", "1234")]
)
def test_postcodes_of_another_shape_are_refused(country, typed):
    with pytest.raises(ValueError):
        normalize_postal_code(typed, country)


def test_phone_numbers_are_read_for_the_country_and_stored_internationally():
    assert normalize_phone("06 12345678", "NL") == "+31 6 12345678"
    assert normalize_phone("+32 2 555 12 12", "NL") == "+32 2 555 12 12"
    with pytest.raises(ValueError):
        normalize_phone("12345", "NL")
    with pytest.raises(ValueError):
        normalize_phone("bel me", "NL")


def test_onboarding_refuses_postcode_abc_in_dutch_and_creates_nothing(client, db):
    from tenants.models import Customer, User

    user = User.objects.create_user(email="nieuw@winkel.example", password="x")
    client.force_login(user)
    data = {
        "name": "Winkel",
        "billing_email": "nieuw@winkel.example",
        "address": "Dorpsstraat 5",
        "postal_code": "abc",
        "city": "Utrecht",
        "country": "NL",
        "phone": "06 12345678",
        "plan": "",
    }
    from tenants.models import Plan

    data["plan"] = Plan.objects.get(code="basis").pk
    page = client.post("/onboarding/", data, HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert "Vul een Nederlandse postcode in" in page
    assert not Customer.objects.exists()
    data["postal_code"] = "1234ab"
    client.post("/onboarding/", data)
    customer = Customer.objects.get()
    assert (customer.postal_code, customer.phone) == ("1234 AB", "+31 6 12345678")
