from allauth.mfa.models import Authenticator

from tenants.models import AuditEntry, Customer
from tests.conftest import PASSWORD


def require(customer):
    customer.require_two_factor = True
    customer.save()


def test_owner_without_two_factor_cannot_require_it(owner_client, customer):
    response = owner_client.post("/team/two-factor/", {"require_two_factor": "on"}, follow=True)
    assert "for yourself first" in response.content.decode()
    assert not Customer.objects.get(pk=customer.pk).require_two_factor


def test_owner_turns_on_the_requirement(owner_client, owner, customer):
    Authenticator.objects.create(user=owner, type=Authenticator.Type.TOTP, data={"secret": "x"})
    owner_client.post("/team/two-factor/", {"require_two_factor": "on"})
    assert Customer.objects.get(pk=customer.pk).require_two_factor
    assert AuditEntry.objects.filter(action="two_factor.required").exists()
    owner_client.post("/team/two-factor/", {})
    assert not Customer.objects.get(pk=customer.pk).require_two_factor


def test_users_without_authenticator_are_sent_to_totp_setup(member_client, customer):
    require(customer)
    for path in ["/", "/plan/", "/domains/", "/team/"]:
        response = member_client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == "/accounts/2fa/totp/activate/"


def test_after_login_the_user_sets_up_totp_and_then_may_use_the_panel(client, member, customer):
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time

    require(customer)
    response = client.post("/accounts/login/", {"login": member.email, "password": PASSWORD}, follow=True)
    # allauth asks for the password again before any two-factor change, then shows the setup
    assert response.redirect_chain[-2][0] == "/accounts/2fa/totp/activate/"
    assert response.redirect_chain[-1][0].startswith("/accounts/reauthenticate/")
    response = client.post(response.redirect_chain[-1][0], {"password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/2fa/totp/activate/"
    secret = response.context["form"].secret
    code = format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))
    client.post("/accounts/2fa/totp/activate/", {"code": code})
    assert Authenticator.objects.filter(user=member, type=Authenticator.Type.TOTP).exists()
    assert client.get("/").status_code == 200


def test_setup_logout_and_language_pages_stay_reachable(member_client, customer):
    require(customer)
    response = member_client.get("/accounts/2fa/totp/activate/", follow=True)
    assert response.status_code == 200 and response.redirect_chain[-1][0].startswith("/accounts/")
    assert member_client.get("/accounts/2fa/").status_code == 200
    assert member_client.post("/i18n/setlang/", {"language": "en"}).status_code == 302
    assert member_client.post("/accounts/logout/").status_code == 302


def test_users_with_totp_pass(member_client, member, customer):
    require(customer)
    Authenticator.objects.create(user=member, type=Authenticator.Type.TOTP, data={"secret": "x"})
    assert member_client.get("/").status_code == 200


def test_recovery_codes_alone_do_not_count(member_client, member, customer):
    require(customer)
    Authenticator.objects.create(user=member, type=Authenticator.Type.RECOVERY_CODES, data={})
    assert member_client.get("/").status_code == 302


def test_other_customers_are_not_affected(outsider_client, customer):
    require(customer)
    assert outsider_client.get("/").status_code == 200
