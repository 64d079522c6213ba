from django.core.management import call_command

from mailaccounts.models import Domain
from mailaccounts.services.signatures import effective_signature


def test_demo_mailboxes_have_signatures(db, capsys):
    call_command("demo")
    call_command("demo")
    domain = Domain.objects.get(name="demo.postbode.localhost")
    info = effective_signature(domain.mailboxes.get(local_part="info"))
    sales = effective_signature(domain.mailboxes.get(local_part="verkoop"))
    assert (
        info.source == "template"
        and "info@demo.postbode.localhost" in info.text
        and "<strong>Demo B.V.</strong>" in info.html
    )
    assert sales.source == "own" and "Team Verkoop" in sales.text
    assert "Webmail:" in capsys.readouterr().out
