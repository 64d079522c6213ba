"""E-mail to a customer: rendered in the customer's language from one name and three templates
(`<name>_subject.txt`, `<name>_message.txt`, `<name>_message.html`), with links built from `SITE_URL`."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from .models import Customer, Membership


def site_link(view_name: str, *args) -> str:
    """An absolute link into the panel, from the configured `SITE_URL` (never the request's Host)."""
    return settings.SITE_URL.rstrip("/") + reverse(view_name, args=args)


def owner_addresses(customer: Customer) -> list[str]:
    owners = Membership.objects.filter(customer=customer, role=Membership.Role.OWNER)
    return list(owners.values_list("user__email", flat=True))


# RFC 3834: every message the panel sends is automatic, so that no autoresponder (the customer's own automatic
# reply in Sieve, an out-of-office in Outlook) answers it.
AUTOMATIC = {"Auto-Submitted": "auto-generated"}


def send_automatic_email(*, subject: str, text: str, html: str, to: list[str]) -> None:
    """One e-mail of the panel's: text and HTML, from `DEFAULT_FROM_EMAIL`, marked as sent automatically."""
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=to, headers=AUTOMATIC
    )
    message.attach_alternative(html, "text/html")
    message.send()


def send_customer_email(
    *, customer: Customer, name: str, context: dict, to: list[str], subject_prefix: str = ""
) -> None:
    """Render e-mail `name` (a template path without its ending) in the customer's language and send it."""
    language = customer.language or settings.LANGUAGE_CODE
    send_template_email(name=name, context=context, to=to, language=language, subject_prefix=subject_prefix)


def send_template_email(
    *, name: str, context: dict, to: list[str], language: str, subject_prefix: str = ""
) -> None:
    """Render e-mail `name` in `language` (staff's e-mails: the panel's own) and send it."""
    if not to:
        return
    context = {"site_name": settings.SITE_NAME, "site_url": settings.SITE_URL, **context}
    with translation.override(language):
        subject = render_to_string(f"{name}_subject.txt", context)
        text = render_to_string(f"{name}_message.txt", context)
        html = render_to_string(f"{name}_message.html", context)
    send_automatic_email(subject=subject_prefix + " ".join(subject.split()), text=text, html=html, to=to)
