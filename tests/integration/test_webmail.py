"""Webmail on the real stack (issue 20): Roundcube (deploy/roundcube, `php -S`), Dovecot and Postfix on loopback,
the panel on the live test server, all driven by Chromium.

- "Open webmail" in the panel lands in Roundcube's inbox showing a message delivered over SMTP; the same link
  a second time, or after 60 seconds, logs nobody in.
- A message composed in webmail carries the signature set in the panel (read back from the SMTP sink).
- Changing the password in webmail's settings goes through the panel: its strength rules answer in Dutch, the
  change is applied (IMAP refuses the old password, accepts the new one) and is in the activity log.
- The credential a webmail session logs in with is checked by Dovecot itself: it opens its own mailbox (IMAP,
  SMTP submission) and nothing else; expired, forged, another host's, POP3 or from elsewhere: refused; and
  it ends when the mailbox's password changes.
"""

import smtplib
import socket
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from mailaccounts.models import Domain
from mailaccounts.services import mailboxes, signatures
from mailhosts.models import MailHost
from tenants.audit import Actor
from tenants.models import AuditEntry
from tests.conftest import ensure_seeded_plans
from tests.integration.conftest import create_mailbox, wait_until
from tests.integration.test_webmail_dutch import FORMAL
from tests.signature_files import read_signature
from webmail import credentials
from webmail import services as webmail_services
from webmail.models import SsoToken
from webmail.stack import config_dir, url

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.xdist_group("mailstack"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "Zomer-Appeltaart-2026"
NEW_PASSWORD = "Krentenbol-Winter-2027"


@pytest.fixture
def webmail(mailstack, live_server, settings):
    """The panel sends browsers to the stack's Roundcube; Roundcube asks this live server."""
    ensure_seeded_plans()
    settings.WEBMAIL_URL = url(mailstack)
    settings.ALLOWED_HOSTS = ["*"]
    local = config_dir(mailstack) / "local.inc.php"
    local.write_text(f"<?php\n$config['postbode_panel_url'] = '{live_server.url}';\n")
    yield url(mailstack)
    local.unlink(missing_ok=True)


@pytest.fixture
def jan(stack_domain, fresh, mail, webmail):
    """A mailbox on the stack, live."""
    mailbox = create_mailbox(stack_domain, fresh("jan"), PASSWORD)
    mail.wait_live(mailbox)
    return mailbox


def sign_in(page, mailbox):
    """The mailbox's own user signs in to the panel with the mailbox address and password."""
    page.goto("/accounts/login/")
    page.fill("input[name=login]", mailbox.address)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(f"**/mailboxes/{mailbox.pk}/")


def open_webmail(page, mailbox):
    """Click "Open webmail" on the mailbox page; the webmail tab, and the one-time link it was sent to."""
    links = []
    page.context.on("request", lambda request: links.append(request.url) if "_sso=" in request.url else None)
    page.goto(f"/mailboxes/{mailbox.pk}/")
    with page.context.expect_page() as opened:
        page.click("[data-testid=open-webmail]")
    webmail_page = opened.value
    webmail_page.set_default_timeout(20_000)
    webmail_page.wait_for_load_state()
    return webmail_page, links


def inbox_loaded(page) -> None:
    """The inbox shown and its requests answered. Roundcube keeps a session as one row that each request
    writes whole when it ends: a page opened while the list's requests still run can lose what its first
    request stored there (a new message's compose session: "Opgevraagde opstellingsessie niet gevonden",
    seen in two full CI runs), as a person who clicks before the inbox has loaded could."""
    page.locator("#messagelist").wait_for(state="attached")
    page.wait_for_load_state("networkidle")


def test_open_webmail_lands_in_the_inbox_once_and_only_within_a_minute(
    page,
    jan,
    mail,
    live_server,
    browser,
    shot,
    webmail,
):
    subject = "Bestelling 42 voor zaterdag"
    mail.deliver(mail.message(sender="klant@elders.example", to=jan.address, subject=subject))
    mail.wait_for_inbox(jan.address, PASSWORD, subject=subject)
    sign_in(page, jan)

    inbox, links = open_webmail(page, jan)
    inbox.locator("#messagelist").get_by_text(subject).wait_for()
    inbox.screenshot(path=str(shot("webmail-panel-card").with_name("webmail-inbox.png")))
    assert "_task=mail" in inbox.url and "_sso=" not in inbox.url
    assert len(links) == 1

    # the same link again, in a browser without the session: the login page with the reason, no mail
    stranger = browser.new_context(locale="nl-NL")
    again = stranger.new_page()
    again.goto(links[0])
    assert again.locator("#rcmloginuser").is_visible()
    assert "verlopen of al gebruikt" in again.inner_text("body")
    assert again.locator("#messagelist").count() == 0

    # a new link that is 61 seconds old by the time it is used
    token = webmail_services.create_sso_token(actor=Actor.system(), mailbox=jan)
    SsoToken.objects.filter(token_hash=SsoToken.hash_token(token)).update(
        created_at=timezone.now() - timedelta(seconds=61), expires_at=timezone.now() - timedelta(seconds=1)
    )
    again.goto(webmail_services.sso_url(token))
    assert again.locator("#rcmloginuser").is_visible()
    assert again.locator("#messagelist").count() == 0
    # ... and a made-up one
    again.goto(webmail + "?_sso=" + "x" * 43)
    assert again.locator("#rcmloginuser").is_visible()
    stranger.close()
    assert SsoToken.objects.filter(mailbox=jan, used_at__isnull=False).count() == 1


def test_a_message_composed_in_webmail_carries_the_signature_set_in_the_panel(
    page,
    jan,
    mail,
    live_server,
    shot,
):
    sign_in(page, jan)
    page.goto(f"/mailboxes/{jan.pk}/signature/")
    page.fill("#id_name", "Jan de Bakker")
    page.fill("#id_phone", "020 123 4567")
    page.fill("#id_text", "Met vriendelijke groet,\nJan de Bakker\nBakkerij de Vries - 020 123 4567")
    page.click("[data-testid=save-signature]")
    page.locator(".message-success").wait_for()
    mail.wait_live(jan.signature)

    compose, _links = open_webmail(page, jan)
    inbox_loaded(compose)
    compose.goto(url_of(compose, "?_task=mail&_action=compose"))
    body = compose.locator("#composebody")
    body.wait_for()
    wait_until(
        lambda: "Bakkerij de Vries - 020 123 4567" in body.input_value(), what="the signature in the body"
    )
    # the texts the compose page's script may show, in Dutch, say "je" (tests/integration/test_webmail_dutch.py)
    labels = compose.evaluate("rcmail.labels")
    assert labels["nosubjectwarning"] == "Je hebt geen onderwerp ingevuld. Wil je nu een onderwerp opgeven?"
    assert not {key: text for key, text in labels.items() if FORMAL.search(text)}
    compose.locator("#compose_to input[type=text]").fill("klant@elders.example")
    compose.fill("#compose-subject", "Uw bestelling")
    body.press("Control+Home")
    body.type("Beste klant, uw taart staat klaar.\n")
    shot("webmail-compose")
    compose.click("button.btn.send, a.send")
    sent = mail.wait_for_sink(to="klant@elders.example", subject="Uw bestelling", timeout=30)
    text = sent.get_body(preferencelist=("plain",)).get_content()
    assert "uw taart staat klaar" in text
    assert "Met vriendelijke groet,\nJan de Bakker\nBakkerij de Vries - 020 123 4567" in text.replace(
        "\r\n", "\n"
    )
    assert sent["From"].addresses[0].addr_spec == jan.address


def test_changing_the_password_in_webmail_goes_through_the_panel(
    page,
    jan,
    mail,
    live_server,
    shot,
):
    sign_in(page, jan)
    webmail_page, _links = open_webmail(page, jan)
    inbox_loaded(webmail_page)
    webmail_page.goto(url_of(webmail_page, "?_task=settings&_action=plugin.password"))

    def submit(current, new):
        webmail_page.fill("#curpasswd", current)
        webmail_page.fill("#newpasswd", new)
        webmail_page.fill("#confpasswd", new)
        webmail_page.click("button.submit, input.button.mainaction")
        message = webmail_page.locator("#messagestack div").last
        message.wait_for()
        return message.inner_text()

    labels = webmail_page.evaluate("rcmail.labels")
    assert labels["password.nocurpassword"] == "Vul je huidige wachtwoord in."  # Roundcube's "Vul uw …"
    assert not {key: text for key, text in labels.items() if FORMAL.search(text)}
    assert "huidige wachtwoord klopt niet" in submit(
        "Verkeerd-Wachtwoord-1", NEW_PASSWORD
    )  # the panel's answer, in Dutch
    webmail_page.locator("#messagestack div").last.wait_for(state="detached", timeout=30_000)
    assert "alleen cijfers" in submit(PASSWORD, "2026202620262026")  # the panel's strength rules
    webmail_page.locator("#messagestack div").last.wait_for(state="detached", timeout=30_000)
    assert "opgeslagen" in submit(PASSWORD, NEW_PASSWORD).lower()
    shot("webmail-password-changed")

    jan.refresh_from_db()
    mail.wait_live(jan)
    assert not mail.imap_login_works(jan.address, PASSWORD)
    assert mail.imap_login_works(jan.address, NEW_PASSWORD)
    entry = AuditEntry.objects.filter(customer=jan.customer, action="mailbox.password").latest("at")
    assert entry.object_id == str(jan.pk)
    assert entry.changes["password"] == "chosen" and entry.changes["via"] == "webmail"
    assert entry.actor_label == jan.address  # made by the mailbox's own user, as the owner reads it
    # the webmail session goes on after the change
    webmail_page.goto(url_of(webmail_page, "?_task=mail"))
    webmail_page.locator("#messagelist").wait_for(state="attached")
    assert "_task=mail" in webmail_page.url


def url_of(webmail_page, query: str) -> str:
    return webmail_page.url.split("?")[0] + query


def test_signature_html_reaches_webmail_cleaned(jan, mail):
    """The rendered signature file Roundcube reads has the panel's cleaned HTML, not what was typed."""
    signatures.set_signature(
        actor=Actor.system(),
        mailbox=jan,
        name="Jan",
        phone="",
        text="Jan",
        html='<p onclick="steal()">Jan <img src="https://tracker.example/p.gif"><script>x()</script></p>',
    )
    mail.wait_live(jan.signature)
    rendered = read_signature(mail.stack.config_dir, jan.address)["html"]
    assert "onclick" not in rendered and "tracker.example" not in rendered and "script" not in rendered
    assert "<p>Jan" in rendered


def test_anyone_logs_in_at_the_webmail_address_with_the_mailbox_password(page, jan, mail, webmail):
    """The provider-wide address, without the panel: Roundcube's own login form, checked by Dovecot."""
    subject = "Rechtstreeks in webmail"
    mail.deliver(mail.message(sender="klant@elders.example", to=jan.address, subject=subject))
    mail.wait_for_inbox(jan.address, PASSWORD, subject=subject)
    page.goto(webmail)
    page.fill("#rcmloginuser", jan.address)
    page.fill("#rcmloginpwd", "Verkeerd-Wachtwoord-1")
    page.press("#rcmloginpwd", "Enter")
    page.locator("#messagestack div").first.wait_for()
    assert page.locator("#messagelist").count() == 0
    page.fill("#rcmloginuser", jan.address)
    page.fill("#rcmloginpwd", PASSWORD)
    page.press("#rcmloginpwd", "Enter")
    page.locator("#messagelist").get_by_text(subject).wait_for()


def test_dovecot_accepts_a_webmail_credential_for_its_own_mailbox_only(jan, stack_domain, fresh, mail):
    """No master login: the credential the panel gave a webmail session opens that one mailbox, on that host."""
    piet = create_mailbox(stack_domain, fresh("piet"), PASSWORD)
    mail.wait_live(piet)
    host = jan.domain.mailhost
    credential, _expires = credentials.make_credential(host, jan.address)

    assert mail.imap_login_works(jan.address, credential)
    assert mail.imap_login_works(jan.address.upper(), credential)
    # the same credential as another mailbox, an expired one, a forged one, one made with another host's key
    assert not mail.imap_login_works(piet.address, credential, source="127.0.0.2")
    long_ago = time.time() - credentials.session_seconds() - 1
    expired, _at = credentials.make_credential(host, jan.address, now=long_ago)
    assert not mail.imap_login_works(jan.address, expired, source="127.0.0.3")
    forged = credential[:-8] + ("0" * 8 if not credential.endswith("0" * 8) else "1" * 8)
    assert not mail.imap_login_works(jan.address, forged, source="127.0.0.4")
    other_host = MailHost(name="mx-elders", hostname="mx.elders.example")
    elsewhere, _at = credentials.make_credential(other_host, jan.address)
    assert not mail.imap_login_works(jan.address, elsewhere, source="127.0.0.5")
    # only from the webmail's addresses (WEBMAIL_ALLOW_NETS, 127.0.0.0/28 here)
    assert not mail.imap_login_works(jan.address, credential, source="127.0.0.20")
    assert mail.imap_login_works(
        jan.address, PASSWORD, source="127.0.0.20"
    )  # the password works from anywhere

    # sending through submission (Postfix asks Dovecot) as the mailbox, not as another
    message = mail.message(
        sender=jan.address, to="klant@elders.example", subject="Met de sleutel van webmail"
    )
    mail.submit(message, user=jan.address, password=credential)
    mail.wait_for_sink(to="klant@elders.example", subject="Met de sleutel van webmail")
    with pytest.raises(smtplib.SMTPAuthenticationError):
        mail.submit(message, user=piet.address, password=credential, source_address=("127.0.0.6", 0))

    # not for POP3, and not once the mailbox is disabled (for sending either: Postfix asks no user table)
    assert pop3_login_works(mail, jan.address, PASSWORD, source="127.0.0.8")
    assert not pop3_login_works(mail, jan.address, credential, source="127.0.0.9")
    mailboxes.disable_mailbox(actor=Actor.system(), mailbox=jan)
    jan.refresh_from_db()
    mail.wait_live(jan)
    assert not mail.imap_login_works(jan.address, credential, source="127.0.0.7")
    with pytest.raises(smtplib.SMTPAuthenticationError):
        mail.submit(message, user=jan.address, password=credential, source_address=("127.0.0.7", 0))


def test_a_webmail_session_ends_when_the_mailboxs_password_is_changed_in_the_panel(jan, mail):
    """As a session opened with the old password does: Dovecot checks the credential against the password
    hash in its user table, so once the change is applied the credential is refused, and a new one works."""
    host = jan.domain.mailhost
    before, _expires = credentials.make_credential(host, jan.address)
    assert mail.imap_login_works(jan.address, before)
    mailboxes.set_mailbox_password(actor=Actor.system(), mailbox=jan, password=NEW_PASSWORD)
    jan.refresh_from_db()
    mail.wait_live(jan)
    assert not mail.imap_login_works(jan.address, before)
    assert mail.imap_login_works(jan.address, webmail_services.webmail_login(jan)["password"])
    assert mail.imap_login_works(jan.address, NEW_PASSWORD)


def pop3_login_works(mail, user: str, password: str, *, source: str) -> bool:
    raw = socket.create_connection(("127.0.0.1", mail.ports["pop3s"]), timeout=30, source_address=(source, 0))
    with mail.tls.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        lines = tls.makefile("rb")
        lines.readline()
        tls.sendall(f"USER {user}\r\n".encode())
        lines.readline()
        tls.sendall(f"PASS {password}\r\n".encode())
        return lines.readline().startswith(b"+OK")


def test_webmail_connects_to_the_mail_host_the_panel_names(page, jan, mail, webmail, stack_host, customer):
    """One webmail address for every mail host: Roundcube connects to the host the panel names for the login
    (production's `ssl://%s:993`), not to its own default."""
    imaps = mail.ports["imaps"]
    local = config_dir(mail.stack) / "local.inc.php"
    local.write_text(
        local.read_text()
        + f"$config['postbode_imap_host'] = 'ssl://%s:{imaps}';\n"
        + f"$config['imap_host'] = 'ssl://default-host.invalid:{imaps}';\n"
    )
    stack_host.hostname = "localhost"  # the stack's certificate covers it; Roundcube checks the stack's name
    stack_host.save(update_fields=["hostname"])
    subject = "Via de juiste mailserver"
    mail.deliver(mail.message(sender="klant@elders.example", to=jan.address, subject=subject))
    mail.wait_for_inbox(jan.address, PASSWORD, subject=subject)

    # a login with the password: the panel names the host (webmail/api/host/)
    page.goto(webmail)
    page.fill("#rcmloginuser", jan.address)
    page.fill("#rcmloginpwd", PASSWORD)
    page.press("#rcmloginpwd", "Enter")
    page.locator("#messagelist").get_by_text(subject).wait_for()
    page.context.clear_cookies()

    # single sign-on: the host comes with the sign-on answer
    page.goto(webmail_services.sso_url(webmail_services.create_sso_token(actor=Actor.system(), mailbox=jan)))
    page.locator("#messagelist").get_by_text(subject).wait_for()
    page.context.clear_cookies()

    # a mailbox of another mail host is sent there, not here (that host does not exist in this test)
    elsewhere = MailHost.objects.create(
        name="mx-elders", hostname="mx2.invalid", queue="mailhost.mx-elders", config_dir="/nonexistent"
    )
    domain = Domain.objects.create(
        customer=customer,
        name=f"{fresh_label()}.example",
        mailhost=elsewhere,
        verification_token="elders",
        verified_at=timezone.now(),
    )
    piet = create_mailbox(domain, "piet", PASSWORD)
    page.goto(webmail_services.sso_url(webmail_services.create_sso_token(actor=Actor.system(), mailbox=piet)))
    page.locator("#messagestack div").first.wait_for()
    assert page.locator("#messagelist").count() == 0
    assert "mx2.invalid" in mail.stack.path("log", "roundcube", "errors.log").read_text()


def fresh_label() -> str:
    return "elders-" + str(int(time.time() * 1000))
