"""Django messages whose Dutch translation Django's own catalogue lacks.

Django 5.2 changed the password length message to `%d`, but its Dutch catalogue still translates the old
`%(min_length)d` wording, so Dutch forms said "This password is too short…". Listing the message here puts it
in our catalogue (locale/), which Django consults first. Nothing imports this module.
"""

from django.utils.translation import ngettext_lazy

DJANGO_MESSAGES = [
    ngettext_lazy(
        "This password is too short. It must contain at least %d character.",
        "This password is too short. It must contain at least %d characters.",
        "min_length",
    ),
]
