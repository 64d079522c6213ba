"""The mail programs the device page explains, with numbered steps in the user's language.

A step is a sentence plus the names of the values it needs (shown beside it with a copy button). The values
come from `facts(mailbox)`: the same settings the automatic configuration answers with.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from .endpoints import settings_for_mailbox

SECURITY_LABELS = {"ssl": "SSL/TLS", "starttls": "STARTTLS"}


@dataclass(frozen=True)
class Step:
    text: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Client:
    key: str
    label: str
    steps: tuple[Step, ...]
    uses_profile_qr: bool = False  # the one-time link as a QR code (iPhone/iPad)
    uses_profile_download: bool = False  # a direct download (a Mac)


def facts(mailbox) -> dict[str, str]:
    client = settings_for_mailbox(mailbox)
    imap, pop3, smtp = client.imap[0], client.pop3[0], client.smtp[0]
    return {
        "address": mailbox.address,
        "username": mailbox.address,
        "imap_server": imap.hostname,
        "imap_port": str(imap.port),
        "imap_security": SECURITY_LABELS[imap.security],
        "imap_starttls_port": str(client.imap[1].port),
        "pop3_server": pop3.hostname,
        "pop3_port": str(pop3.port),
        "pop3_security": SECURITY_LABELS[pop3.security],
        "smtp_server": smtp.hostname,
        "smtp_port": str(smtp.port),
        "smtp_security": SECURITY_LABELS[smtp.security],
        "smtp_starttls_port": str(client.smtp[1].port),
        "dav_url": client.dav_url,
        "caldav_url": f"{client.dav_url}{mailbox.address}/calendar/",
        "carddav_url": f"{client.dav_url}{mailbox.address}/contacts/",
    }


VALUE_LABELS = {
    "address": _("E-mail address"),
    "username": _("User name"),
    "imap_server": _("Incoming server (IMAP)"),
    "imap_port": _("IMAP port"),
    "imap_security": _("IMAP security"),
    "imap_starttls_port": _("IMAP port with STARTTLS"),
    "pop3_server": _("Incoming server (POP3)"),
    "pop3_port": _("POP3 port"),
    "pop3_security": _("POP3 security"),
    "smtp_server": _("Outgoing server (SMTP)"),
    "smtp_port": _("SMTP port"),
    "smtp_security": _("SMTP security"),
    "smtp_starttls_port": _("SMTP port with STARTTLS"),
    "dav_url": _("Calendar and contacts server (CalDAV/CardDAV)"),
    "caldav_url": _("Your calendar"),
    "carddav_url": _("Your address book"),
}
IMAP_VALUES = ("imap_server", "imap_port", "imap_security", "username")
SMTP_VALUES = ("smtp_server", "smtp_port", "smtp_security", "username")
PASSWORD_STEP = Step(
    _(
        "Type the password of this mailbox. We never send it by e-mail; ask whoever manages your mail if you do not know it."
    )
)
DAVX5_STEP = Step(
    _(
        "For calendar and contacts: install DAVx⁵ from the Play Store, add an account with “Log in with e-mail address” and type your address and password. DAVx⁵ finds your calendar and address book itself."
    ),
    ("address",),
)

CLIENTS = [
    Client(
        "iphone",
        _("iPhone or iPad"),
        (
            Step(
                _(
                    "Scan the QR code below with the camera of your iPhone or iPad and tap the link that appears. The link works once and for a short time."
                )
            ),
            Step(
                _(
                    "Tap “Allow” to download the profile. Then open Settings: “Profile Downloaded” is at the top (or under General → VPN & Device Management)."
                )
            ),
            Step(
                _(
                    "Tap “Install” and type your device passcode. The profile is signed by us, so it shows as verified."
                )
            ),
            Step(
                _(
                    "When asked, type the password of this mailbox. Mail, Calendar and Contacts now show the account."
                ),
                ("address",),
            ),
        ),
        uses_profile_qr=True,
    ),
    Client(
        "android_gmail",
        _("Android: Gmail app"),
        (
            Step(
                _(
                    "Open the Gmail app, tap your picture at the top right, then “Add another account” and “Other”."
                ),
                (),
            ),
            Step(_("Type your e-mail address and tap “Manual setup”, then “Personal (IMAP)”."), ("address",)),
            PASSWORD_STEP,
            Step(_("Incoming server settings:"), IMAP_VALUES),
            Step(_("Outgoing server settings (keep “Require sign-in” on):"), SMTP_VALUES),
            DAVX5_STEP,
        ),
    ),
    Client(
        "android_thunderbird",
        _("Android: Thunderbird (K-9 Mail)"),
        (
            Step(_("Open Thunderbird for Android and tap “Add account”."), ()),
            Step(
                _("Type your e-mail address and tap “Next”: the app finds our server settings by itself."),
                ("address",),
            ),
            PASSWORD_STEP,
            Step(_("Only if it asks for settings: incoming (IMAP)"), IMAP_VALUES),
            Step(_("and outgoing (SMTP):"), SMTP_VALUES),
            DAVX5_STEP,
        ),
    ),
    Client(
        "outlook_windows",
        _("Outlook for Windows"),
        (
            Step(
                _(
                    "Choose File → Add account, type your e-mail address and click “Connect”. Outlook finds our settings by itself (Autodiscover)."
                ),
                ("address",),
            ),
            PASSWORD_STEP,
            Step(
                _("Only if it asks for the account type: choose IMAP and type these incoming settings"),
                IMAP_VALUES,
            ),
            Step(_("and these outgoing settings:"), SMTP_VALUES),
        ),
    ),
    Client(
        "outlook_mac",
        _("Outlook for Mac"),
        (
            Step(
                _(
                    "Choose Outlook → Settings → Accounts, click + and “New account”, and type your e-mail address."
                ),
                ("address",),
            ),
            PASSWORD_STEP,
            Step(
                _("If it asks for the provider, choose IMAP/POP and type these incoming settings"),
                IMAP_VALUES,
            ),
            Step(_("and these outgoing settings:"), SMTP_VALUES),
        ),
    ),
    Client(
        "outlook_new",
        _("New Outlook (Windows) and Outlook on the web"),
        (
            Step(_("Open Settings → Accounts → Add account and type your e-mail address."), ("address",)),
            Step(_("Choose IMAP, then “Show more”, and type these incoming settings"), IMAP_VALUES),
            Step(_("and these outgoing settings:"), SMTP_VALUES),
            PASSWORD_STEP,
        ),
    ),
    Client(
        "apple_mail_mac",
        _("Apple Mail on a Mac"),
        (
            Step(_("Download the profile with the button below and open it.")),
            Step(
                _(
                    "Open System Settings → Privacy & Security → Profiles (or General → Device Management), choose the profile and click “Install”."
                )
            ),
            Step(
                _(
                    "When asked, type the password of this mailbox. Mail, Calendar and Contacts now show the account."
                ),
                ("address",),
            ),
        ),
        uses_profile_download=True,
    ),
    Client(
        "thunderbird",
        _("Thunderbird (Windows, Mac, Linux)"),
        (
            Step(_("Choose ≡ → Account Settings → Account Actions → Add Mail Account."), ()),
            Step(
                _(
                    "Type your name, e-mail address and password and click “Continue”: Thunderbird finds our settings by itself."
                ),
                ("address",),
            ),
            Step(_("Only if it asks: incoming (IMAP)"), IMAP_VALUES),
            Step(_("and outgoing (SMTP):"), SMTP_VALUES),
            Step(
                _(
                    "Calendar: New Calendar → On the network, type your e-mail address. Contacts: New Address Book → Add CardDAV Address Book with this address:"
                ),
                ("address", "dav_url"),
            ),
        ),
    ),
    Client(
        "other",
        _("Another program"),
        (
            Step(
                _("Incoming mail over IMAP (recommended):"),
                ("imap_server", "imap_port", "imap_security", "imap_starttls_port"),
            ),
            Step(_("Or incoming mail over POP3:"), ("pop3_server", "pop3_port", "pop3_security")),
            Step(
                _("Outgoing mail (SMTP, sign-in required):"),
                ("smtp_server", "smtp_port", "smtp_security", "smtp_starttls_port"),
            ),
            Step(
                _("The user name is always the full e-mail address, with the mailbox's password:"),
                ("username",),
            ),
            Step(_("Calendar (CalDAV) and contacts (CardDAV):"), ("dav_url", "caldav_url", "carddav_url")),
        ),
    ),
]
CLIENTS_BY_KEY = {client.key: client for client in CLIENTS}


def client_or_none(key: str) -> Client | None:
    return CLIENTS_BY_KEY.get(key)


def steps_with_values(client: Client, values: dict[str, str]) -> list[dict]:
    """The client's steps, each with its (label, value) pairs, ready for a template or an e-mail."""
    return [
        {"text": step.text, "values": [(VALUE_LABELS[name], values[name]) for name in step.values]}
        for step in client.steps
    ]
