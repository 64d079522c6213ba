"""The autoresponder's Sieve script: escaping, header safety and Amsterdam date bounds.

The real Pigeonhole tools (sievec, sieve-test) check hostile scripts in tests/integration/test_mailbox_tools.py.
"""

from datetime import UTC, datetime

from mailaccounts.sieve import header_text, quote, render_vacation


def test_quote_escapes_backslash_and_quote_and_nothing_else():
    assert quote('a"b\\c') == '"a\\"b\\\\c"'
    assert quote("ü 😀 \u202e") == '"ü 😀 \u202e"'


def test_quote_strips_nul_and_normalises_line_breaks():
    assert quote("a\x00b\r\nc\rd") == '"ab\nc\nd"'


def test_subject_loses_line_breaks():
    assert header_text("Hi\r\nBcc: evil@example.org\rX\n") == "Hi Bcc: evil@example.org X"


def test_script_requires_the_extensions_and_sets_days():
    script = render_vacation(subject="Away", body="Back Monday", days=3)
    assert script.startswith('require ["vacation","date","relational"];')
    assert 'vacation :days 3 :subject "Away" "Back Monday";' in script
    assert "currentdate" not in script


def test_start_and_end_are_amsterdam_wall_clock_with_their_own_offset():
    winter = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # 09:00 in Amsterdam (+0100)
    summer = datetime(2027, 7, 1, 15, 0, tzinfo=UTC)  # 17:00 in Amsterdam (+0200)
    script = render_vacation(subject="s", body="b", days=1, starts_at=winter, ends_at=summer)
    assert 'currentdate :zone "+0100" :value "ge" "iso8601" "2026-12-01T09:00:00"' in script
    assert 'currentdate :zone "+0200" :value "lt" "iso8601" "2027-07-01T17:00:00"' in script


def test_an_autoresponder_row_renders_with_its_own_values(mailbox):
    from mailaccounts.services import autoresponders
    from mailaccounts.sieve import render_autoresponder
    from tenants.audit import Actor

    starts = datetime(2026, 12, 20, 8, 0, tzinfo=UTC)
    autoresponder = autoresponders.save_autoresponder(
        actor=Actor.system(),
        mailbox=mailbox,
        is_enabled=True,
        subject="Afwezig",
        body='Tot "maandag"',
        starts_at=starts,
        interval_days=4,
    )
    script = render_autoresponder(autoresponder)
    assert script == render_vacation(subject="Afwezig", body='Tot "maandag"', days=4, starts_at=starts)
    assert 'vacation :days 4 :subject "Afwezig" "Tot \\"maandag\\"";' in script
