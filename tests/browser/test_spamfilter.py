"""In the browser, on a phone: the spam filter of a domain and of a mailbox, reached from their pages, their
settings saved and their allow and block lists kept, in Dutch (issue 17)."""

import pytest
from django.conf import settings as django_settings
from django.test import Client

from mailaccounts.services.mailboxes import create_mailbox
from spamfilter.models import DomainSpamPolicy, MailboxSpamPolicy, SenderListEntry
from tenants.audit import Actor

# serialized_rollback: the live server's tests empty the database afterwards; this puts the seeded plans back.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(page, live_server, owner, customer):
    """The owner signed in (the session cookie of Django's test client), on a phone-size screen."""
    client = Client()
    client.force_login(owner)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    page.set_viewport_size(PHONE)
    return page


@pytest.fixture
def mailbox(domain):
    mailbox, _generated = create_mailbox(
        actor=Actor.system(),
        customer=domain.customer,
        domain=domain,
        local_part="jan",
        quota_bytes=10**9,
        password="Brood-En-Banket-42",
    )
    return mailbox


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def messages(page) -> str:
    return " ".join(page.locator(".messages").all_inner_texts())


def test_a_domains_spam_settings_and_lists_on_a_phone(phone, domain, shot):
    page = phone
    page.goto(f"/domains/{domain.pk}/")
    page.locator("#spam-filter").get_by_role("link", name="Instellingen van het spamfilter").click()
    page.wait_for_url(f"**/spam/domains/{domain.pk}/")
    assert fits_the_screen(page)
    assert "Waarschijnlijke spam gaat naar de map Junk" in page.inner_text("main")
    assert "Mail van deze afzenders komt nooit in Junk" in page.inner_text("#allow-list")  # Dutch, all of it
    shot("spam-domain-phone")

    page.check("input[name=sensitivity][value=strict]")
    page.fill("input[name=reject_score]", "9")
    page.locator("main form.card").first.get_by_role("button", name="Opslaan").click()
    page.wait_for_selector(".messages")
    assert "Instellingen van het spamfilter van bakkerij.example opgeslagen." in messages(page)
    policy = DomainSpamPolicy.objects.get(domain=domain)
    assert (policy.is_enabled, policy.sensitivity, policy.reject_score) == (True, "strict", 9)
    assert page.is_checked("input[name=sensitivity][value=strict]")

    block = page.locator("#block-list")
    block.locator("textarea[name=entries]").fill("@Reclame.example\nspam@elders.example")
    block.get_by_role("button", name="Toevoegen").click()
    page.wait_for_selector("#block-list .entries")
    assert "Toegevoegd aan de blokkeerlijst" in messages(page)
    assert page.locator("#block-list .entries li").all_inner_texts()[0].startswith("@reclame.example")
    assert fits_the_screen(page)
    shot("spam-domain-phone-block-list")

    allow = page.locator("#allow-list")
    allow.locator("textarea[name=entries]").fill("vriend@elders.example\n/.*/@x.nl")
    allow.get_by_role("button", name="Toevoegen").click()
    page.wait_for_selector("#allow-list .errorlist")
    assert "“/.*/@x.nl”: gebruik vóór de @ alleen gewone letters" in page.inner_text("#allow-list")
    assert "vriend@elders.example" in page.input_value("#allow-list textarea[name=entries]")  # kept
    assert not SenderListEntry.objects.filter(kind="allow").exists()
    shot("spam-domain-phone-refused-entry")

    page.locator("#block-list .entries li", has_text="spam@elders.example").get_by_role(
        "button", name="Verwijderen"
    ).click()
    page.wait_for_selector(".messages")
    assert "spam@elders.example verwijderd." in messages(page)
    assert list(SenderListEntry.objects.values_list("mailbox", "kind", "value")) == [
        (None, "block", "@reclame.example")
    ]


def test_a_mailboxs_own_spam_settings_and_allow_list_on_a_phone(phone, mailbox, shot):
    page = phone
    page.goto(f"/mailboxes/{mailbox.pk}/")
    page.locator("#spam-filter").get_by_role("link", name="Instellingen van het spamfilter").click()
    page.wait_for_url(f"**/spam/mailboxes/{mailbox.pk}/")
    assert fits_the_screen(page)
    assert page.is_checked("input[name=inherits][value=True]")
    shot("spam-mailbox-phone")

    page.check("input[name=inherits][value=False]")
    page.uncheck("input[name=is_enabled]")
    page.check("input[name=sensitivity][value=relaxed]")
    page.fill("input[name=reject_score]", "20")
    page.fill("input[name=junk_days]", "14")
    page.locator("main form.card").first.get_by_role("button", name="Opslaan").click()
    page.wait_for_selector(".messages")
    policy = MailboxSpamPolicy.objects.get(mailbox=mailbox)
    assert (
        policy.inherits,
        policy.is_enabled,
        policy.sensitivity,
        policy.reject_score,
        policy.junk_days,
    ) == (
        False,
        False,
        "relaxed",
        20,
        14,
    )
    assert page.locator("h1 [data-live-state]").count() == 1  # its state on the mail servers

    allow = page.locator("#allow-list")
    allow.locator("textarea[name=entries]").fill("Vriend@Bäckerei.example")
    allow.get_by_role("button", name="Toevoegen").click()
    page.wait_for_selector("#allow-list .entries")
    assert "vriend@bäckerei.example" in page.inner_text("#allow-list .entries")
    entry = SenderListEntry.objects.get()
    assert (entry.mailbox, entry.kind, entry.value) == (mailbox, "allow", "vriend@xn--bckerei-5wa.example")
    assert fits_the_screen(page)
    shot("spam-mailbox-phone-allow-list")
