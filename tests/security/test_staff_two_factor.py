"""Issue 15, point 2: staff reach the admin only through allauth's sign-in, with two-factor required."""

from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache

from tenants.models import User
from tests.conftest import PASSWORD, STAFF_TOTP_SECRET


def current_code(secret: str) -> str:
    counters = list(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(secret, counters[len(counters) // 2]))


def signed_in_user(client):
    from django.contrib.auth import get_user

    return get_user(client)


def test_the_admin_login_is_allauths_login(client, staff):
    response = client.get("/admin/login/?next=/admin/panel/customer/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2Fpanel%2Fcustomer%2F"
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


def test_the_password_alone_no_longer_opens_the_admin(client, staff):
    """Django's admin form took the password and skipped the second factor."""
    client.post("/admin/login/", {"username": staff.email, "password": PASSWORD, "next": "/admin/"})
    assert isinstance(signed_in_user(client), AnonymousUser)
    response = client.post("/accounts/login/?next=/admin/", {"login": staff.email, "password": PASSWORD})
    assert response["Location"].startswith("/accounts/2fa/authenticate/")
    assert isinstance(signed_in_user(client), AnonymousUser)
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


def test_staff_reach_the_admin_with_password_and_code(client, staff):
    cache.clear()
    client.post("/accounts/login/?next=/admin/", {"login": staff.email, "password": PASSWORD})
    response = client.post("/accounts/2fa/authenticate/", {"code": current_code(STAFF_TOTP_SECRET)})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_staff_without_two_factor_set_it_up_before_any_admin_page(client, db):
    from allauth.account.models import EmailAddress

    newcomer = User.objects.create_superuser(email="nieuw@postbode.nl", password=PASSWORD)
    EmailAddress.objects.create(user=newcomer, email=newcomer.email, verified=True, primary=True)
    client.post("/accounts/login/", {"login": newcomer.email, "password": PASSWORD})
    for path in ("/admin/", "/admin/panel/customer/", "/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == "/accounts/2fa/totp/activate/", path
    assert client.get("/accounts/2fa/totp/activate/", follow=True).status_code == 200


def test_a_customers_user_is_refused_at_the_admin_login(owner_client):
    assert owner_client.get("/admin/login/?next=/admin/").status_code == 403
