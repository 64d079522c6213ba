"""Confirming the address of a new sign-up continues signed in, also in another browser.

allauth signs a user in on confirmation only in the browser that signed up; a bakery owner who opens the
link from the mail app on their phone had to log in again. Here the first confirmation of a brand-new user's
address signs them in wherever the link is opened, once: the address was unverified and the user had no
verified address, no customer and no two-factor yet. A second click on the same link (or a stolen link after
the owner has confirmed) signs nobody in.
"""

from allauth.account.models import EmailAddress
from allauth.account.utils import perform_login
from allauth.account.views import ConfirmEmailView
from django.http import Http404

from .models import Membership
from .services import user_has_two_factor


class ConfirmEmailAndContinueView(ConfirmEmailView):
    def post(self, *args, **kwargs):
        try:
            address = self.get_object().email_address
        except Http404:
            return super().post(*args, **kwargs)
        user = address.user
        first_confirmation = (
            not address.verified
            and not EmailAddress.objects.filter(user=user, verified=True).exists()
            and not Membership.objects.filter(user=user).exists()
            and not user_has_two_factor(user)
        )
        response = super().post(*args, **kwargs)
        if not first_confirmation or self.request.user.is_authenticated:
            return response
        address.refresh_from_db()
        if not address.verified:
            return response
        return perform_login(self.request, user)


confirm_email = ConfirmEmailAndContinueView.as_view()
