"""The project's own settings checks (`manage.py check`)."""

from django.conf import settings
from django.core import checks

from .views import security_contact_uri


@checks.register(checks.Tags.security)
def security_contact(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if security_contact_uri(settings.SECURITY_CONTACT) is not None:
        return []
    return [
        checks.Warning(
            f"SECURITY_CONTACT {settings.SECURITY_CONTACT!r} is not an e-mail address or an https:// URL: "
            "/.well-known/security.txt answers 404.",
            hint="Set SECURITY_CONTACT to e.g. security@example.nl or https://example.nl/security.",
            id="postbode.W001",
        )
    ]
