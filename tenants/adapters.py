"""allauth adapter: where users land after sign-in and how the panel's e-mails are sent."""

from urllib.parse import urlsplit, urlunsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.urls import reverse

from .addresses import normalize_email_address
from .emails import AUTOMATIC


def on_site_url(url: str) -> str:
    """An absolute link re-rooted on `SITE_URL`: same path and query, never the request's Host header."""
    parts = urlsplit(url)
    site = urlsplit(settings.SITE_URL)
    return urlunsplit((site.scheme, site.netloc, site.path.rstrip("/") + parts.path, parts.query, ""))


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """allauth builds the links in its e-mails (password reset, address confirmation, sign-up) from the
        request; every absolute link in any panel e-mail is built on `SITE_URL` instead."""
        context = {
            key: on_site_url(value)
            if isinstance(value, str) and value.startswith(("http://", "https://"))
            else value
            for key, value in context.items()
        }
        super().send_mail(template_prefix, email, context)

    def render_mail(self, template_prefix: str, email: str, context: dict, headers: dict | None = None):
        """Sign-up, confirmation and password e-mails are sent automatically (RFC 3834), as the panel's others."""
        return super().render_mail(template_prefix, email, context, headers={**AUTOMATIC, **(headers or {})})

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        """Failed sign-ins are counted per address *and* IP: an attacker who knows an address is throttled
        from their own network, while its owner, from theirs, still signs in. Every login through allauth's
        form counts here, mailbox logins included; `ACCOUNT_RATE_LIMITS` adds the per-IP guard."""
        return (
            f"{super()._get_login_attempts_cache_key(request, **credentials)}:{self.get_client_ip(request)}"
        )

    def get_email_confirmation_url(self, request, emailconfirmation) -> str:
        return on_site_url(super().get_email_confirmation_url(request, emailconfirmation))

    def get_reset_password_from_key_url(self, key: str) -> str:
        return on_site_url(super().get_reset_password_from_key_url(key))

    def get_login_redirect_url(self, request):
        if not hasattr(request.user, "membership"):
            return reverse("onboarding")
        return super().get_login_redirect_url(request)

    def get_signup_redirect_url(self, request):
        return reverse("onboarding")

    def clean_email(self, email: str) -> str:
        """Sign-up and added addresses pass the panel's one address rule (`tenants.addresses`)."""
        return normalize_email_address(super().clean_email(email))
