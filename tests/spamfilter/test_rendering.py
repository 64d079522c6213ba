import pytest

from mailhosts.models import MailHost
from spamfilter import services
from spamfilter.models import SenderListEntry
from spamfilter.rendering import USERDB_PARTS, render_spamfilter
from tenants.audit import Actor

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system()


def rendered(host=None) -> dict[str, str]:
    """The spam filter's files, and as "spamfilter/dovecot-userdb" the lines of every domain's userdb file (the
    rows of `spamfilter/users.sqlite` that Dovecot reads)."""
    config = render_spamfilter(host or MailHost.objects.default())
    files = {path: file.content.decode() for path, file in config.files.items()}
    files["spamfilter/dovecot-userdb"] = "".join(
        content for path, content in sorted(files.items()) if path.startswith(f"{USERDB_PARTS}/")
    )
    return files


def test_every_mailbox_runs_the_junk_script_of_its_domains_sensitivity(domain, mailbox):
    services.update_domain_policy(
        actor=SYSTEM, domain=domain, is_enabled=True, sensitivity="strict", reject_score=9
    )
    files = rendered()
    script = files["spamfilter/sieve/strict.sieve"]
    assert 'if header :matches "X-Spamd-Bar" "++++*" {' in script
    assert files["spamfilter/dovecot-userdb"] == (
        "jan@bakkerij.example:::::::userdb_sieve_before=file:"
        f"{MailHost.objects.default().config_dir}/spamfilter/sieve/strict.sieve;bindir=~/sieve-spam-bin\n"
    )
    assert 'fileinto :create "Junk";' in script
    assert "reject = 9;" in files["spamfilter/rspamd-settings.conf"]
    assert 'rcpt = ["@bakkerij.example"];' in files["spamfilter/rspamd-settings.conf"]


def test_a_mailbox_with_its_own_settings_overrides_the_domain_and_off_means_no_script(domain, make_mailbox):
    jan, piet = make_mailbox("jan"), make_mailbox("piet")
    services.update_mailbox_policy(
        actor=SYSTEM,
        mailbox=piet,
        inherits=False,
        is_enabled=False,
        sensitivity="normal",
        reject_score=15,
        junk_days=7,
    )
    files = rendered()
    assert "fileinto" not in files["spamfilter/sieve/off.sieve"]
    settings_file = files["spamfilter/rspamd-settings.conf"]
    assert (
        f'postbode_mailbox_{piet.pk} {{\n  priority = high;\n  rcpt = ["piet@bakkerij.example"];'
        in settings_file
    )
    assert "reject = 1000;" in settings_file  # off: nothing refused by score
    assert f"postbode_mailbox_{jan.pk}" not in settings_file
    assert files["spamfilter/dovecot-userdb"] == (  # jan runs the default script: no line
        "piet@bakkerij.example:::::::userdb_sieve_before=file:"
        f"{MailHost.objects.default().config_dir}/spamfilter/sieve/off.sieve;bindir=~/sieve-spam-bin"
        " userdb_namespace/inbox/mailbox/Junk/autoexpunge=7d\n"
    )


def test_lists_become_recipient_sender_keys(domain, mailbox):
    services.add_list_entries(actor=SYSTEM, domain=domain, kind="block", text="@spam.example")
    services.add_list_entries(
        actor=SYSTEM, domain=domain, mailbox=mailbox, kind="allow", text="Vriend@Spam.example"
    )
    files = rendered()
    assert files["spamfilter/block-domain.map"] == "@bakkerij.example|@spam.example\n"
    assert files["spamfilter/allow-mailbox.map"] == "jan@bakkerij.example|vriend@spam.example\n"
    assert files["spamfilter/allow-domain.map"] == ""


def test_an_entry_that_slipped_past_validation_is_left_out_of_the_map(domain, mailbox):
    SenderListEntry.objects.create(domain=domain, kind="block", value="x@y.example\n@bakkerij.example|*")
    SenderListEntry.objects.create(domain=domain, kind="block", value="ok@y.example")
    assert rendered()["spamfilter/block-domain.map"] == "@bakkerij.example|ok@y.example\n"


def test_an_unverified_domain_and_a_disabled_mailbox_render_nothing(domain, make_mailbox, customer):
    from mailaccounts.services.mailboxes import disable_mailbox

    piet = make_mailbox("piet")
    disable_mailbox(actor=SYSTEM, mailbox=piet)
    services.update_domain_policy(
        actor=SYSTEM, domain=domain, is_enabled=True, sensitivity="strict", reject_score=9
    )
    assert "piet@" not in rendered()["spamfilter/dovecot-userdb"]  # disabled
    domain.verified_at = None
    domain.save(update_fields=["verified_at"])
    files = rendered()
    assert files["spamfilter/dovecot-userdb"] == ""
    assert "bakkerij" not in files["spamfilter/rspamd-settings.conf"]
