"""Issue 15, point 4: links in e-mails come from SITE_URL; MTA-STS answers without widening ALLOWED_HOSTS."""

import re

from django.core import mail

EVIL = "evil.example.net"


def links(message) -> list[str]:
    return re.findall(r"https?://[^\s\"'<>]+", message.body)


def test_password_reset_links_use_site_url_whatever_the_host_header(client, owner, settings):
    settings.ALLOWED_HOSTS = ["*"]  # as if widened for mta-sts.* names, the README's old advice
    settings.SITE_URL = "https://panel.postbode.nl"
    client.post("/accounts/password/reset/", {"email": owner.email}, HTTP_HOST=EVIL)
    assert len(mail.outbox) == 1
    found = links(mail.outbox[0])
    assert found and all(link.startswith("https://panel.postbode.nl/") for link in found), found
    assert EVIL not in mail.outbox[0].body


def test_sign_up_confirmation_links_use_site_url(client, db, settings):
    settings.ALLOWED_HOSTS = ["*"]
    settings.SITE_URL = "https://panel.postbode.nl"
    client.post(
        "/accounts/signup/",
        {
            "email": "nieuw@example.com",
            "password1": "Zeer-Lang-Wachtwoord-9",
            "password2": "Zeer-Lang-Wachtwoord-9",
        },
        HTTP_HOST=EVIL,
    )
    assert mail.outbox and all(
        link.startswith("https://panel.postbode.nl/") for message in mail.outbox for link in links(message)
    )


def test_invitation_links_use_site_url(owner_client, customer, settings, django_capture_on_commit_callbacks):
    settings.ALLOWED_HOSTS = ["*"]
    settings.SITE_URL = "https://panel.postbode.nl"
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post("/team/invite/", {"email": "collega@example.com", "role": "member"}, HTTP_HOST=EVIL)
    (message,) = mail.outbox
    assert links(message) and all(
        link.startswith("https://panel.postbode.nl/invitation/") for link in links(message)
    )


def test_mta_sts_is_served_under_the_customers_name_while_allowed_hosts_names_only_the_panel(
    client, domain, settings
):
    settings.ALLOWED_HOSTS = ["panel.postbode.nl"]
    response = client.get("/.well-known/mta-sts.txt", HTTP_HOST=f"mta-sts.{domain.name}")
    assert response.status_code == 200 and response.content.startswith(b"version: STSv1")
    assert client.get("/.well-known/mta-sts.txt", HTTP_HOST="mta-sts.unknown.example").status_code == 404
    # the panel itself is not served under that name, nor under any other outside ALLOWED_HOSTS
    assert client.get("/accounts/login/", HTTP_HOST=f"mta-sts.{domain.name}").status_code == 400
    assert client.get("/accounts/login/", HTTP_HOST=EVIL).status_code == 400
    assert client.get("/accounts/login/", HTTP_HOST="panel.postbode.nl").status_code == 200


def test_autoconfig_is_served_under_the_customers_name(client, domain, settings):
    settings.ALLOWED_HOSTS = ["panel.postbode.nl"]
    response = client.get("/mail/config-v1.1.xml", HTTP_HOST=f"autoconfig.{domain.name}")
    assert response.status_code == 200 and domain.name in response.content.decode()


def test_a_malformed_host_header_on_the_policy_path_is_still_refused(client, domain, settings):
    settings.ALLOWED_HOSTS = ["panel.postbode.nl"]
    response = client.get("/.well-known/mta-sts.txt", HTTP_HOST="mta-sts.bakkerij.example/../x")
    assert response.status_code == 400


def test_no_code_of_the_panel_builds_a_link_from_the_request():
    """The class, not only the three e-mails above: no view, e-mail or template builds an absolute link from
    the request (its Host header); they use `SITE_URL` (`tenants.emails`, the account adapter's `on_site_url`)."""
    from pathlib import Path

    from django.conf import settings

    from tests.sources import project_files

    root = Path(settings.BASE_DIR)
    skip = {".venv", "tests", "staticfiles", "var", "node_modules", ".git"}
    offenders = [
        str(path.relative_to(root))
        for path in project_files(root, (".py", ".html", ".txt"), skip=skip, anywhere=True)
        if ("build_absolute_uri" in (text := path.read_text(errors="replace")) or "request.get_host" in text)
    ]
    # two compare a redirect target with the request's own host; tenants/hosts.py names the customer's domain
    # a mail program or mail server asked about (MTA-STS, autoconfig): none builds a link from it
    assert sorted(offenders) == ["postbode/views.py", "tenants/hosts.py", "tenants/middleware.py"], offenders
