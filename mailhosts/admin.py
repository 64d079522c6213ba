"""Staff screen for mail hosts: how far each host is, its last error, and "re-apply now"."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from tenants.audit import Actor

from .models import LiveState, MailHost
from .services import reapply_host


@admin.register(MailHost)
class MailHostAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "hostname",
        "queue",
        "enabled",
        "state",
        "desired_revision",
        "applied_revision",
        "applied_at",
        "last_error_at",
        "short_error",
    ]
    list_filter = ["enabled"]
    search_fields = ["name", "hostname"]
    readonly_fields = [
        "state",
        "desired_revision",
        "applied_revision",
        "applied_at",
        "last_error",
        "last_error_at",
    ]
    fieldsets = [
        (None, {"fields": ["name", "hostname", "queue", "enabled"]}),
        (
            _("Files and commands"),
            {"fields": ["config_dir", "mail_dir", "postmap_command", "reload_commands", "doveadm_command"]},
        ),
        (
            _("Applied state"),
            {
                "fields": [
                    "state",
                    "desired_revision",
                    "applied_revision",
                    "applied_at",
                    "last_error",
                    "last_error_at",
                ]
            },
        ),
    ]
    actions = ["reapply_now"]

    @admin.display(description=_("state"))
    def state(self, host: MailHost) -> str:
        return str(LiveState(host.state_of(host.desired_revision)).label)

    @admin.display(description=_("last error"))
    def short_error(self, host: MailHost) -> str:
        return host.last_error[:120]

    @admin.action(description=_("Re-apply now"))
    def reapply_now(self, request, queryset):
        actor = Actor.from_request(request)
        for host in queryset:
            reapply_host(host=host, actor=actor)
        count = len(queryset)
        self.message_user(
            request,
            ngettext("Re-applying %(count)d mail host.", "Re-applying %(count)d mail hosts.", count)
            % {"count": count},
            messages.SUCCESS,
        )
