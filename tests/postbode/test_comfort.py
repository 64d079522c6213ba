"""Support contact and PIN on every page, suspended accounts, staff landing, error pages, favicon."""

from django.test import Client, RequestFactory

from postbode.views import server_error


def test_every_page_shows_support_phone_hours_and_the_customers_pin(owner_client, customer, settings):
    settings.SUPPORT_PHONE, settings.SUPPORT_HOURS = "+31 30 765 4321", "Mon–Sat 8:00–18:00"
    for path in ["/", "/plan/", "/team/", "/security/"]:
        page = owner_client.get(path).content.decode()
        assert 'href="tel:+31307654321"' in page and "Mon–Sat 8:00–18:00" in page, path
        assert f'id="support-pin">{customer.support_pin}<' in page, path
    assert len(customer.support_pin) == 6 and customer.support_pin.isdigit()


def test_staff_find_a_caller_by_support_pin(staff_client, customer, other_customer):
    page = staff_client.get("/admin/panel/customer/", {"q": customer.support_pin}).content.decode()
    assert customer.name in page and other_customer.name not in page


def test_suspended_customer_sees_the_reason_the_support_line_and_disabled_forms(owner_client, customer):
    customer.status, customer.suspended_reason = customer.Status.SUSPENDED, "Onbetaalde facturen"
    customer.save()
    page = owner_client.get("/mailboxes/add/").content.decode()
    assert "Reason: Onbetaalde facturen" in page
    assert "Questions? Call us on" in page
    assert '<fieldset class="page-lock" disabled>' in page


def test_staff_opening_the_panel_go_to_the_admin(staff_client):
    response = staff_client.get("/")
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_favicon_and_our_own_error_pages(client, db, settings):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("img/favicon.svg")
    not_found = client.get("/nowhere/")
    assert not_found.status_code == 404 and "This page does not exist" in not_found.content.decode()
    settings.SUPPORT_PHONE = "+31 30 765 4321"
    error = server_error(RequestFactory().get("/"))
    assert error.status_code == 500
    assert (
        "Something went wrong on our side" in error.content.decode()
        and "+31 30 765 4321" in error.content.decode()
    )


def test_anonymous_pages_show_the_support_line_without_a_pin(db):
    page = Client().get("/accounts/login/").content.decode()
    assert 'href="tel:' in page and "support-pin" not in page
