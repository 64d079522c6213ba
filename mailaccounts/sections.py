"""Cards that capabilities above this one add to a mailbox's and a domain's page.

A capability registers a function in its `AppConfig.ready` (the spam filter adds its settings and counts);
it gets the request and the object, already scoped to the request's customer, and returns HTML (or "" to
add nothing). The pages render them in registration order with `{% mailbox_sections %}` and
`{% domain_sections %}` (templatetags/mailbox_tags.py), without knowing which capability wrote what.
"""

from collections.abc import Callable

from django.http import HttpRequest
from django.utils.safestring import SafeString

from .models import Domain, Mailbox

MailboxSection = Callable[[HttpRequest, Mailbox], SafeString | str]
DomainSection = Callable[[HttpRequest, Domain], SafeString | str]
_mailbox_sections: list[MailboxSection] = []
_domain_sections: list[DomainSection] = []


def register_mailbox_section(section: MailboxSection) -> None:
    if section not in _mailbox_sections:
        _mailbox_sections.append(section)


def register_domain_section(section: DomainSection) -> None:
    if section not in _domain_sections:
        _domain_sections.append(section)


def mailbox_sections(request: HttpRequest, mailbox: Mailbox) -> list[SafeString | str]:
    return [html for section in _mailbox_sections if (html := section(request, mailbox))]


def domain_sections(request: HttpRequest, domain: Domain) -> list[SafeString | str]:
    return [html for section in _domain_sections if (html := section(request, domain))]
