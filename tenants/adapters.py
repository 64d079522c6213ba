"""allauth adapter: where users land after sign-in and how the panel's e-mails are sent."""

from allauth.account.adapter import DefaultAccountAdapter
from django.urls import reverse

from .addresses import normalize_email_address


class AccountAdapter(DefaultAccountAdapter):
    def get_login_redirect_url(self, request):
        if not hasattr(request.user, "membership"):
            return reverse("onboarding")
        return super().get_login_redirect_url(request)

    def get_signup_redirect_url(self, request):
        return reverse("onboarding")

    def clean_email(self, email: str) -> str:
        """Sign-up and added addresses pass the panel's one address rule (`tenants.addresses`)."""
        return normalize_email_address(super().clean_email(email))
