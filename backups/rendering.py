"""The backups' part of a mail host's configuration (see deploy/dovecot/dovecot.conf):

- `dovecot/doveadm-api-key`: the key of doveadm's HTTP API, through which the panel lists and restores
  recently deleted mail (DOVEADM_API_KEY);
- `dovecot/lazy-expunge.acl`: hides lazy_expunge's `.EXPUNGED/` namespace from IMAP clients, so mail kept
  there (outside the quota) can be neither read nor added to by the user; only the panel restores from it.
"""

from django.conf import settings

from mailhosts.models import MailHost
from mailhosts.rendering import MODE_AUTH, HostConfig, RenderedFile

MANAGED_DIRS = ("dovecot",)
API_KEY_FILE = "dovecot/doveadm-api-key"
ACL_FILE = "dovecot/lazy-expunge.acl"
# No rights at all for the owner on the namespace's root and everything below it (`owner` with an empty
# right list); lazy_expunge itself and doveadm do not load the acl plugin (only imap does).
EXPUNGED_ACL = b".EXPUNGED owner \n.EXPUNGED/* owner \n"


def backup_files() -> dict[str, RenderedFile]:
    key = settings.DOVEADM_API_KEY
    if not key or any(c.isspace() for c in key):
        raise ValueError("DOVEADM_API_KEY must be set and contain no whitespace")
    return {
        API_KEY_FILE: RenderedFile(key.encode(), MODE_AUTH, group=settings.MAILHOST_AUTH_GROUP),
        ACL_FILE: RenderedFile(EXPUNGED_ACL),
    }


def render_backups(host: MailHost) -> HostConfig:
    return HostConfig(files=backup_files())
