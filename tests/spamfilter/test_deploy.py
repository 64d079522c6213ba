"""What deploy/'s rspamd templates say in production and in the local test stack: network checks on in
production only, SPF/DKIM/DMARC/ARC asked of a resolver, the controller only with its password."""

from pathlib import Path

import pytest

from mailhosts.stack import MailStack, StackError, read_vars, render_templates
from spamfilter import stack as spam_stack

ROOT = Path(__file__).resolve().parents[2]
NETWORK_CHECKS = ["rbl", "surbl", "fuzzy_check", "hfilter", "reputation", "url_redirector"]
SENDER_CHECKS = ["spf", "dkim", "arc", "dmarc"]


def production(tmp_path) -> Path:
    render_templates(read_vars(ROOT / "deploy" / "production.vars"), tmp_path)
    return tmp_path / "rspamd"


def test_production_switches_network_and_sender_checks_on_and_says_which_resolver(tmp_path):
    rspamd = production(tmp_path)
    for module in NETWORK_CHECKS + SENDER_CHECKS:
        assert "enabled = true;" in (rspamd / "local.d" / f"{module}.conf").read_text(), module
    assert 'nameserver = ["127.0.0.1:53"];' in (rspamd / "local.d" / "options.inc").read_text()
    assert "check_local = false;" in (rspamd / "local.d" / "spf.conf").read_text()
    dmarc = (rspamd / "local.d" / "dmarc.conf").read_text()
    assert 'reject = "reject";' in dmarc and 'quarantine = "add header";' in dmarc


def test_the_controller_needs_its_password_everywhere_and_the_learning_scripts_read_it_from_a_file(tmp_path):
    rspamd = production(tmp_path)
    conf = (rspamd / "rspamd.conf").read_text()
    controller = conf[conf.index('worker "controller"') :]
    assert 'bind_socket = "127.0.0.1:11334";' in controller
    assert "secure_ip = [];" in controller
    assert '.include "$LOCAL_CONFDIR/local.d/worker-controller-password.inc"' in controller
    learn = (tmp_path / "dovecot" / "sieve" / "bin" / "learn-spam").read_text()
    assert 'PASSWORD_FILE = "/etc/dovecot/postbode-sieve/rspamd-controller.password"' in learn
    assert "-P" not in learn  # never on a command line, where any local user could read it


def test_the_test_stack_has_no_network_checks_and_sender_checks_only_with_a_nameserver(settings, tmp_path):
    stack = MailStack(tmp_path / "stack", 29000)
    settings.MAILSTACK_RSPAMD_NAMESERVER = ""
    values = spam_stack.values(stack, tmp_path / "config")
    assert (values["RSPAMD_NETWORK_CHECKS"], values["RSPAMD_SENDER_CHECKS"]) == ("false", "false")
    settings.MAILSTACK_RSPAMD_NAMESERVER = "127.0.0.1:5353"
    values = spam_stack.values(stack, tmp_path / "config")
    assert (values["RSPAMD_SENDER_CHECKS"], values["RSPAMD_NAMESERVER"]) == ("true", "127.0.0.1:5353")


def test_a_nameserver_setting_that_is_not_host_and_port_is_refused(settings, tmp_path):
    settings.MAILSTACK_RSPAMD_NAMESERVER = '127.0.0.1:53"]; } options { x = "'
    with pytest.raises(StackError):
        spam_stack.values(MailStack(tmp_path / "stack", 29000), tmp_path / "config")
