"""Django messages whose Dutch translation Django's own catalogue lacks.

Django 5.2 changed the password length message to `%d`, but its Dutch catalogue still translates the old
`%(min_length)d` wording, so Dutch forms said "This password is too short…". Listing the message here puts it
in our catalogue (locale/), which Django consults first. Nothing imports this module.
"""

from django.utils.translation import gettext_noop, ngettext_lazy

DJANGO_MESSAGES = [
    ngettext_lazy(
        "This password is too short. It must contain at least %d character.",
        "This password is too short. It must contain at least %d characters.",
        "min_length",
    ),
]

# The admin's app list (Django 5.1's headings for screen readers, not in Django's Dutch catalogue yet) and the
# primary key's label, the same word in Dutch.
DJANGO_ADMIN_MESSAGES = [
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
    gettext_noop("ID"),
    gettext_noop("After you’ve created a user, you’ll be able to edit more user options."),
]

# The password rules under every password field: Django's Dutch says "Uw wachtwoord", we say "je".
DJANGO_PASSWORD_HELP = [
    gettext_noop("Your password can’t be too similar to your other personal information."),
    ngettext_lazy(
        "Your password must contain at least %(min_length)d character.",
        "Your password must contain at least %(min_length)d characters.",
        "min_length",
    ),
    gettext_noop("Your password can’t be a commonly used password."),
    gettext_noop("Your password can’t be entirely numeric."),
]
