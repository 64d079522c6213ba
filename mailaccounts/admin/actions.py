"""Admin actions shared by the domain and mailbox lists."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from mailhosts.models import MailHost
from mailhosts.services import reapply_host
from tenants.audit import Actor

from ..models import Domain


@admin.action(description=_("Re-apply their mail hosts now"))
def reapply_mail_hosts(modeladmin, request, queryset):
    """For the domain and mailbox lists: re-apply the hosts the selected objects live on."""
    field = "mailhost" if queryset.model is Domain else "domain__mailhost"
    hosts = MailHost.objects.filter(pk__in=queryset.values(field))
    actor = Actor.from_request(request)
    names = []
    for host in hosts:
        reapply_host(host=host, actor=actor)
        names.append(host.name)
    modeladmin.message_user(
        request, _("Re-applying mail hosts: %(names)s.") % {"names": ", ".join(names)}, messages.SUCCESS
    )
