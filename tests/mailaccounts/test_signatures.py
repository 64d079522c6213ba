"""Signatures: a mailbox's own (plain text and safe HTML), and the owner's domain template with placeholders
that mailboxes start from. HTML loses scripts, event handlers, remote images and styles that hide text; more
than 10,000 characters is refused with a message and changes nothing."""

import pytest
from django.core.exceptions import ValidationError

from mailaccounts.models import MailboxSignature
from mailaccounts.services import signatures
from tenants.audit import Actor
from tenants.models import AuditEntry
from tests.mailboxusers.conftest import colleague, mailbox_client  # noqa: F401

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system()


@pytest.mark.parametrize(
    ("dirty", "gone", "kept"),
    [
        ("<p>Jan<script>steal()</script></p>", "steal", "<p>Jan</p>"),
        ('<p onclick="steal()" onmouseover="x()">Jan</p>', "on", "<p>Jan</p>"),
        ('<img src="https://tracker.example/pixel.gif">Jan', "tracker", "Jan"),
        ('<img src="//tracker.example/p.gif" alt="logo">Jan', "tracker", "Jan"),
        ('<a href="javascript:steal()">Jan</a>', "javascript", "Jan"),
        ('<span style="display:none">verborgen</span>', "display", "<span>verborgen</span>"),
        ('<span style="font-size:0px; color: red">klein</span>', "font-size", 'style="color: red"'),
        ('<span style="opacity:0;position:absolute">x</span>', "opacity", "<span>x</span>"),
        ('<span style="color: transparent">x</span>', "transparent", "<span>x</span>"),
        ('<span style="background-image:url(https://t.example/x)">x</span>', "url(", "<span>x</span>"),
        ("<style>p { display: none }</style><p>Jan</p>", "display", "<p>Jan</p>"),
        ('<iframe src="https://evil.example"></iframe>Jan', "iframe", "Jan"),
        ('<form action="https://evil.example"><input name="p"></form>Jan', "form", "Jan"),
    ],
)
def test_html_loses_what_could_run_track_or_hide(dirty, gone, kept):
    clean = signatures.clean_html(dirty)
    assert gone not in clean
    assert kept in clean


def test_html_keeps_a_formatted_signature():
    html = (
        '<p><strong>Jan de Vries</strong><br><span style="color: #c05a00; font-size: 12px">Bakkerij</span></p>'
        '<p><a href="https://bakkerij.example">bakkerij.example</a> · <a href="tel:+31201234567">bel</a></p>'
        '<img src="data:image/png;base64,iVBORw0KGgo=" alt="logo" width="80">'
    )
    clean = signatures.clean_html(html)
    for part in [
        "<strong>Jan de Vries</strong>",
        "color: #c05a00",
        "font-size: 12px",
        'href="tel:+31201234567"',
    ]:
        assert part in clean
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in clean


def test_saving_sanitises_marks_the_change_for_the_mail_host_and_audits(mailbox):
    signature = signatures.set_signature(
        actor=SYSTEM, mailbox=mailbox, name="Jan", phone="020 123 4567", text="Jan\r\nBakker",
        html='<p onclick="x()">Jan</p>',
    )  # fmt: skip
    assert signature.html == "<p>Jan</p>" and signature.text == "Jan\nBakker"
    assert signature.revision > 0
    entry = AuditEntry.objects.get(action="mailbox.signature")
    assert entry.object_id == str(mailbox.pk) and entry.changes == {"html_cleaned": True}


def test_more_than_ten_thousand_characters_is_refused_and_changes_nothing(mailbox):
    signatures.set_signature(actor=SYSTEM, mailbox=mailbox, name="", phone="", text="Jan", html="")
    with pytest.raises(ValidationError) as refused:
        signatures.set_signature(actor=SYSTEM, mailbox=mailbox, name="", phone="", text="x" * 10_001, html="")
    assert "at most 10.000 characters" in refused.value.message_dict["text"][0]
    assert MailboxSignature.objects.get(mailbox=mailbox).text == "Jan"
    signatures.set_signature(actor=SYSTEM, mailbox=mailbox, name="", phone="", text="x" * 10_000, html="")


def test_mailboxes_start_from_the_domains_template_filled_in(mailbox, domain):
    signatures.set_signature_template(
        actor=SYSTEM,
        domain=domain,
        text="Groet,\n{name}\n{address} · {phone}",
        html="<p><b>{name}</b><br>{address}</p>",
    )
    mailbox.display_name = 'Jan <script>"de Vries"'
    current = signatures.effective_signature(mailbox)
    assert current.source == "template"
    assert current.text == 'Groet,\nJan <script>"de Vries"\njan@bakkerij.example · '
    assert current.html == "<p><b>Jan &lt;script&gt;&quot;de Vries&quot;</b><br>jan@bakkerij.example</p>"
    signatures.set_signature(actor=SYSTEM, mailbox=mailbox, name="Jan", phone="", text="Eigen", html="")
    assert signatures.effective_signature(mailbox).source == "own"
    signatures.clear_signature(actor=SYSTEM, mailbox=mailbox)
    mailbox.refresh_from_db()
    assert signatures.effective_signature(mailbox).source == "template"


# --- the pages ---------------------------------------------------------------------------------------------


def test_the_mailbox_page_links_to_the_signature_page(owner_client, mailbox):
    page = owner_client.get(f"/mailboxes/{mailbox.pk}/").content.decode()
    assert f"/mailboxes/{mailbox.pk}/signature/" in page


def test_a_member_saves_a_signature_and_sees_it_cleaned(member_client, mailbox):
    response = member_client.post(
        f"/mailboxes/{mailbox.pk}/signature/",
        {"name": "Jan", "phone": "+31 20 123 4567", "text": "Jan", "html": "<b>Jan</b><script>x()</script>"},
    )
    assert response.status_code == 302
    assert MailboxSignature.objects.get(mailbox=mailbox).html == "<b>Jan</b>"
    page = member_client.get(f"/mailboxes/{mailbox.pk}/signature/").content.decode()
    assert 'data-testid="signature-preview"><b>Jan</b>' in page


def test_too_long_signature_shows_the_message_on_the_form(owner_client, mailbox):
    response = owner_client.post(
        f"/mailboxes/{mailbox.pk}/signature/", {"name": "", "phone": "", "text": "x" * 10_001, "html": ""}
    )
    assert response.status_code == 200
    assert "A signature can be at most 10.000 characters; this one has 10.001." in response.content.decode()
    assert not MailboxSignature.objects.exists()


def test_a_name_with_a_line_break_or_a_strange_phone_is_refused(owner_client, mailbox):
    response = owner_client.post(
        f"/mailboxes/{mailbox.pk}/signature/",
        {"name": "Jan\r\nBcc: x@evil.example", "phone": "<b>1</b>", "text": "Jan", "html": ""},
    )
    assert response.status_code == 200
    assert not MailboxSignature.objects.exists()


def test_the_page_starts_from_the_template(owner_client, mailbox, domain):
    signatures.set_signature_template(actor=SYSTEM, domain=domain, text="Groet, {name}", html="")
    page = owner_client.get(f"/mailboxes/{mailbox.pk}/signature/").content.decode()
    assert "Groet, Jan de Vries" in page


def test_only_an_owner_edits_the_domain_template(owner_client, member_client, domain):
    assert member_client.get(f"/domains/{domain.pk}/signature/").status_code == 403
    response = owner_client.post(
        f"/domains/{domain.pk}/signature/",
        {"text": "Groet, {name}", "html": "<p>{name}<script></script></p>"},
    )
    assert response.status_code == 302
    assert domain.signature_template.html == "<p>{name}</p>"
    page = owner_client.get(f"/domains/{domain.pk}/").content.decode()
    assert f"/domains/{domain.pk}/signature/" in page


def test_another_customers_signature_pages_are_404(outsider_client, mailbox, domain):
    assert outsider_client.get(f"/mailboxes/{mailbox.pk}/signature/").status_code == 404
    assert outsider_client.post(f"/mailboxes/{mailbox.pk}/signature/", {"text": "x"}).status_code == 404
    assert outsider_client.get(f"/domains/{domain.pk}/signature/").status_code == 404
    assert not MailboxSignature.objects.exists()


def test_the_mailbox_user_edits_their_own_signature_only(mailbox_client, mailbox, colleague, domain):  # noqa: F811
    assert (
        mailbox_client.post(
            f"/mailboxes/{mailbox.pk}/signature/", {"name": "Jan", "phone": "", "text": "Jan", "html": ""}
        ).status_code
        == 302
    )
    assert mailbox_client.get(f"/mailboxes/{colleague.pk}/signature/").status_code == 404
    assert mailbox_client.get(f"/domains/{domain.pk}/signature/").status_code == 404
    entry = AuditEntry.objects.get(action="mailbox.signature")
    assert entry.actor_label == mailbox.address


def test_the_device_page_shows_the_signature_for_copying(owner_client, mailbox):
    signatures.set_signature(
        actor=SYSTEM, mailbox=mailbox, name="Jan", phone="", text="Groet,\nJan", html="<p><b>Jan</b></p>"
    )
    page = owner_client.get(f"/mailboxes/{mailbox.pk}/devices/").content.decode()
    assert 'data-testid="device-signature-html"><p><b>Jan</b></p>' in page
    assert "Groet,\nJan</pre>" in page
    assert "data-copy-rich" in page


def test_a_mailboxs_own_signature_fills_in_its_name_and_phone(mailbox, domain):
    signatures.set_signature_template(actor=SYSTEM, domain=domain, text="Groet, {name} · {phone}", html="")
    signatures.set_signature(
        actor=SYSTEM,
        mailbox=mailbox,
        name="Jan",
        phone="06 1234 5678",
        text="Groet, {name} · {phone}",
        html="",
    )
    assert signatures.effective_signature(mailbox).text == "Groet, Jan · 06 1234 5678"


def test_the_whole_host_rendering_agrees_with_each_mailboxs_signature(mailbox, make_mailbox, domain):
    from mailaccounts.models import Mailbox

    kees, piet = make_mailbox("kees", display_name="Kees"), make_mailbox("piet")
    signatures.set_signature_template(actor=SYSTEM, domain=domain, text="Groet, {name}", html="<b>{name}</b>")
    signatures.set_signature(actor=SYSTEM, mailbox=kees, name="", phone="06", text="K {phone}", html="")
    signatures.set_signature(actor=SYSTEM, mailbox=piet, name="", phone="", text="", html="")
    rendered = dict(signatures.signatures_of(Mailbox.objects.all()))
    for box in (mailbox, kees):
        assert rendered[box.address] == signatures.effective_signature(box)
    assert piet.address not in rendered  # an own, empty signature: nothing to set
