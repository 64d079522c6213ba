"""Admin for mailboxes and aliases: search by address across all customers; changes go through services.

Staff do not edit these rows directly (a direct edit would skip the audit log and the mail backend);
they use the actions, which call the same service functions as the panel, with the staff member as actor.
"""

from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from mailhosts.models import LiveState
from tenants.audit import Actor

from ..models import Alias, Autoresponder, Mailbox
from ..services import aliases, logins, mailboxes
from .actions import reapply_mail_hosts


class ReadOnlyAdmin(admin.ModelAdmin):
    def get_search_results(self, request, queryset, search_term):
        """A full address (jan@bakkerij.example) finds that row; NUL is dropped (PostgreSQL refuses it)."""
        search_term = search_term.replace("\x00", "")
        if "@" in search_term:
            local, _at, domain = search_term.strip().lower().rpartition("@")
            return queryset.filter(**{self.local_part_lookup: local, self.domain_name_lookup: domain}), False
        return super().get_search_results(request, queryset, search_term)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.display(description=_("mail servers"))
@admin.display(description=_("address"), ordering="local_part")
def address(obj):
    return obj.address


@admin.display(description=_("mail servers"))
def live_state_badge(obj):
    state = obj.live_state
    return format_html('<span class="live-state {}">{}</span>', state, LiveState(state).label)


@admin.display(description=_("not applied"))
def not_applied(obj):
    """Destinations saved before the address rule that the mail host never gets (also in `manage.py check
    --database default`); the customer sees them as not applied."""
    bad = obj.undeliverable_forwards if isinstance(obj, Mailbox) else obj.undeliverable_destinations
    return ", ".join(bad) or "-"


@admin.register(Mailbox)
class MailboxAdmin(ReadOnlyAdmin):
    list_display = [
        address,
        "customer",
        "display_name",
        "quota_bytes",
        "used_bytes",
        "is_enabled",
        "deleted_at",
        live_state_badge,
        not_applied,
        "created_at",
    ]
    list_filter = [
        "is_enabled",
        "panel_login_enabled",
        ("deleted_at", admin.EmptyFieldListFilter),
        "domain__mailhost",
    ]
    search_fields = ["local_part", "domain__name", "customer__name"]
    local_part_lookup, domain_name_lookup = "local_part", "domain__name"
    list_select_related = ["domain__mailhost", "customer"]
    show_full_result_count = False
    exclude = ["password_hash"]
    actions = ["disable_mailboxes", "reset_passwords", "switch_panel_login_off", reapply_mail_hosts]

    @admin.action(description=_("Disable the selected mailboxes"))
    def disable_mailboxes(self, request, queryset):
        actor = Actor.from_request(request)
        for mailbox in queryset.select_related("domain__mailhost", "customer"):
            mailboxes.disable_mailbox(actor=actor, mailbox=mailbox)
        self.message_user(request, _("Disabled %(count)d mailboxes.") % {"count": queryset.count()})

    @admin.action(description=_("Switch off the mailbox's own login to the panel (signs them out)"))
    def switch_panel_login_off(self, request, queryset):
        actor = Actor.from_request(request)
        for mailbox in queryset.select_related("domain__mailhost", "customer"):
            logins.set_panel_login(actor=actor, mailbox=mailbox, enabled=False)
        self.message_user(
            request, _("Own panel login switched off for %(count)d mailboxes.") % {"count": queryset.count()}
        )

    @admin.action(description=_("Reset the password (a new one is shown once)"))
    def reset_passwords(self, request, queryset):
        actor = Actor.from_request(request)
        for mailbox in queryset.select_related("domain__mailhost", "customer"):
            password = mailboxes.set_mailbox_password(actor=actor, mailbox=mailbox)
            self.message_user(
                request,
                _("New password for %(address)s (shown only now): %(password)s")
                % {"address": mailbox.address, "password": password},
                level=messages.WARNING,
            )


@admin.register(Alias)
class AliasAdmin(ReadOnlyAdmin):
    list_display = [
        address,
        "customer",
        "destinations",
        "is_enabled",
        live_state_badge,
        not_applied,
        "created_at",
    ]
    list_filter = ["is_enabled"]
    search_fields = ["local_part", "domain__name", "customer__name"]
    local_part_lookup, domain_name_lookup = "local_part", "domain__name"
    list_select_related = ["domain__mailhost", "customer"]
    show_full_result_count = False
    actions = ["disable_aliases"]

    @admin.action(description=_("Disable the selected aliases"))
    def disable_aliases(self, request, queryset):
        actor = Actor.from_request(request)
        for alias in queryset.select_related("domain__mailhost", "customer"):
            aliases.disable_alias(actor=actor, alias=alias)
        self.message_user(request, _("Disabled the selected aliases."))


@admin.register(Autoresponder)
class AutoresponderAdmin(ReadOnlyAdmin):
    list_display = ["mailbox", "is_enabled", "subject", "starts_at", "ends_at", "updated_at"]
    search_fields = ["mailbox__local_part", "mailbox__domain__name", "mailbox__customer__name"]
    local_part_lookup, domain_name_lookup = "mailbox__local_part", "mailbox__domain__name"
    list_select_related = ["mailbox__domain"]
