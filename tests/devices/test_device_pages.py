"""The device page per mailbox, the one-time profile links, the signed profile and the instruction e-mail."""

import plistlib
import re
import subprocess
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.serialization import pkcs7
from django.core import mail
from django.utils import timezone

from devices.models import ProfileLink
from devices.profiles import build_profile

pytestmark = pytest.mark.django_db


def test_mailbox_page_shows_the_settings_at_a_glance(owner_client, mailbox):
    html = owner_client.get(f"/mailboxes/{mailbox.pk}/").content.decode()
    for text in [
        "IMAP",
        "POP3",
        "SMTP",
        "CalDAV",
        "CardDAV",
        "993",
        "995",
        "465",
        "587",
        "https://mx1.postbode.localhost/jan@bakkerij.example/calendar/",
        f"/mailboxes/{mailbox.pk}/devices/",
    ]:
        assert text in html


@pytest.mark.parametrize(
    "key",
    [
        "iphone",
        "android_gmail",
        "android_thunderbird",
        "outlook_windows",
        "outlook_mac",
        "outlook_new",
        "apple_mail_mac",
        "thunderbird",
        "other",
    ],
)
def test_device_page_has_numbered_steps_with_values_and_copy_buttons(owner_client, mailbox, key):
    html = owner_client.get(f"/mailboxes/{mailbox.pk}/devices/", {"client": key}).content.decode()
    assert '<ol class="steps">' in html
    assert html.count("<li>") >= 3
    if key not in {"iphone", "apple_mail_mac"}:
        assert "mx1.postbode.localhost" in html and "data-copy=" in html
    assert "js/copy.js" in html


def test_device_page_is_in_dutch_for_dutch_users(owner_client, mailbox):
    owner_client.cookies["django_language"] = "nl"
    html = owner_client.get(
        f"/mailboxes/{mailbox.pk}/devices/", {"client": "android_gmail"}, HTTP_ACCEPT_LANGUAGE="nl"
    ).content.decode()
    assert "Toestel instellen" in html
    assert "Uitgaande server" in html


def test_another_customers_mailbox_is_404_on_every_device_page(outsider_client, mailbox):
    for url in [f"/mailboxes/{mailbox.pk}/devices/", f"/mailboxes/{mailbox.pk}/devices/profile.mobileconfig"]:
        assert outsider_client.get(url).status_code == 404
    for url in [f"/mailboxes/{mailbox.pk}/devices/qr/", f"/mailboxes/{mailbox.pk}/devices/email/"]:
        assert outsider_client.post(url, {"client": "iphone"}).status_code == 404
    assert not ProfileLink.objects.exists()
    assert not mail.outbox


def make_link(owner_client, mailbox) -> str:
    response = owner_client.post(f"/mailboxes/{mailbox.pk}/devices/qr/")
    assert response.status_code == 302
    html = owner_client.get(response["Location"]).content.decode()
    assert "<svg" in html
    return re.search(r'id="profile-url">([^<]+)<', html).group(1)


def test_qr_link_gives_the_profile_once(owner_client, client, mailbox):
    url = make_link(owner_client, mailbox)
    assert ProfileLink.objects.get().token_hash not in url  # only the hash is stored
    first = client.get(url)
    assert first.status_code == 200
    assert first["Content-Type"] == "application/x-apple-aspen-config"
    assert client.get(url).status_code == 404


def test_expired_link_is_404(owner_client, client, mailbox):
    url = make_link(owner_client, mailbox)
    ProfileLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(url).status_code == 404


def test_link_with_another_mailbox_id_is_404(owner_client, client, mailbox, other_mailbox):
    url = make_link(owner_client, mailbox)
    assert (
        client.get(url.replace(f"/profile/{mailbox.pk}/", f"/profile/{other_mailbox.pk}/")).status_code == 404
    )
    assert client.get(url).status_code == 200  # the wrong try did not use it up


def test_the_profile_is_signed_and_holds_mail_caldav_and_carddav_without_password(
    owner_client, mailbox, tmp_path
):
    der = owner_client.get(f"/mailboxes/{mailbox.pk}/devices/profile.mobileconfig").content
    (tmp_path / "p.mobileconfig").write_bytes(der)
    assert pkcs7.load_der_pkcs7_certificates(der)  # carries its signer's certificate
    verified = subprocess.run(
        [
            "openssl",
            "smime",
            "-verify",
            "-inform",
            "DER",
            "-in",
            str(tmp_path / "p.mobileconfig"),
            "-noverify",
        ],
        capture_output=True,
        check=True,
    )
    profile = plistlib.loads(verified.stdout)
    kinds = [p["PayloadType"] for p in profile["PayloadContent"]]
    assert kinds == ["com.apple.mail.managed", "com.apple.caldav.account", "com.apple.carddav.account"]
    mail_payload = profile["PayloadContent"][0]
    assert "IncomingPassword" not in mail_payload and "OutgoingPassword" not in mail_payload
    assert mailbox.password_hash.split("}")[-1] not in der.decode("latin-1")
    assert profile["PayloadContent"][0]["EmailAddress"] == "jan@bakkerij.example"


def test_odd_display_names_never_break_the_plist(mailbox):
    mailbox.display_name = 'Jan <&> "de" ]]> Vries\x7f'
    profile = plistlib.loads(plistlib.dumps(build_profile(mailbox)))
    assert profile["PayloadContent"][0]["EmailAccountName"] == mailbox.display_name


def test_instructions_are_emailed_to_the_mailbox_without_password(owner_client, mailbox):
    response = owner_client.post(f"/mailboxes/{mailbox.pk}/devices/email/", {"client": "thunderbird"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["jan@bakkerij.example"]
    assert "mx1.postbode.localhost" in message.body and "465" in message.body
    assert "Brood-En-Banket-42" not in message.body
    assert "Brood-En-Banket-42" not in message.alternatives[0][0]


def test_unknown_client_sends_nothing(owner_client, mailbox):
    owner_client.post(f"/mailboxes/{mailbox.pk}/devices/email/", {"client": "nokia"})
    assert not mail.outbox


def test_owner_switches_shared_collections_and_the_host_gets_a_new_revision(owner_client, domain):
    host = domain.mailhost
    before = host.desired_revision
    assert "Company calendar and address book" in owner_client.get(f"/domains/{domain.pk}/").content.decode()
    owner_client.post(f"/domains/{domain.pk}/shared-calendar/", {"enabled": "1"})
    domain.refresh_from_db()
    assert domain.shared_collections.is_enabled
    host.refresh_from_db()
    assert host.desired_revision > before


def test_members_and_outsiders_cannot_switch_shared_collections(member_client, outsider_client, domain):
    assert member_client.post(f"/domains/{domain.pk}/shared-calendar/", {"enabled": "1"}).status_code == 403
    assert outsider_client.post(f"/domains/{domain.pk}/shared-calendar/", {"enabled": "1"}).status_code == 404
    from devices.models import SharedCollections

    assert not SharedCollections.objects.exists()


def test_staff_switch_shared_collections_off_in_the_admin(staff_client, domain):
    from devices.models import SharedCollections
    from devices.services import set_shared_collections
    from tenants.audit import Actor

    shared = set_shared_collections(actor=Actor.system(), domain=domain, enabled=True)
    assert staff_client.get("/admin/devices/sharedcollections/").status_code == 200
    response = staff_client.post(
        "/admin/devices/sharedcollections/", {"action": "switch_off", "_selected_action": [shared.pk]}
    )
    assert response.status_code == 302
    assert not SharedCollections.objects.get().is_enabled
    assert staff_client.get("/admin/devices/clientendpoints/").status_code == 200
    assert staff_client.get("/admin/devices/profilelink/").status_code == 200
