"""Staff views of relay credentials (never their secrets) and the whole relay log."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from mailhosts.models import MailHost
from tenants.audit import Actor

from . import search, services
from .dsn import EXPLANATIONS
from .models import (
    IngestState,
    RejectedAttempt,
    RelayCredential,
    RelayEvent,
    RelayLogSource,
    RelayMessage,
    RelayRecipient,
)


@admin.register(RelayCredential)
class RelayCredentialAdmin(admin.ModelAdmin):
    list_display = ["name", "username", "customer", "is_enabled", "last_used_at", "created_at"]
    list_filter = ["is_enabled"]
    search_fields = ["name", "username", "customer__name"]
    list_select_related = ["customer"]
    fields = [
        "customer",
        "name",
        "username",
        "domains",
        "is_enabled",
        "last_used_at",
        "revision",
        "created_at",
    ]
    readonly_fields = fields
    actions = ["enable", "disable"]

    def has_add_permission(self, request):
        return False  # created by customers in the panel, where the secret is shown once

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Enable selected credentials"))
    def enable(self, request, queryset):
        self._set_enabled(request, queryset, True)

    @admin.action(description=_("Disable selected credentials"))
    def disable(self, request, queryset):
        self._set_enabled(request, queryset, False)

    def _set_enabled(self, request, queryset, enabled):
        actor = Actor.from_request(request)
        for credential in queryset:
            services.set_credential_enabled(credential=credential, enabled=enabled, actor=actor)
        messages.success(request, _("%(count)d credentials updated.") % {"count": queryset.count()})

    def delete_model(self, request, obj):
        services.delete_credential(credential=obj, actor=Actor.from_request(request))

    def delete_queryset(self, request, queryset):
        for credential in queryset:
            services.delete_credential(credential=credential, actor=Actor.from_request(request))


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class RecipientInline(ReadOnlyInline):
    model = RelayRecipient
    fields = ["address", "orig_to", "status", "dsn", "relay", "delay", "response", "at"]
    readonly_fields = fields


class EventInline(ReadOnlyInline):
    model = RelayEvent
    fields = ["at", "kind", "recipient", "status", "dsn", "relay", "delay", "response"]
    readonly_fields = fields


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class StaffSearchAdmin(ReadOnlyAdmin):
    """The relay log's search box: indexed, exact lookups (`staff_search`, a function of `relay.search`), each
    bounded, where the admin's own search would compare upper-cased fields over millions of rows. Subclasses
    name the function and what to say when a kind of match was cut (`cut_message`)."""

    staff_search = staticmethod(lambda term: ([], False))
    cut_message = ""
    time_field = "received_at"

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        ids, cut = self.staff_search(search_term)
        if cut:
            message = self.cut_message % {"count": search.STAFF_SEARCH_LIMIT}
            self.message_user(request, message, messages.WARNING, fail_silently=True)
        return search.rows_found(queryset, ids, self.time_field), False


class MailHostFilter(admin.SimpleListFilter):
    """The mail hosts, named from the small tables that know them (mail hosts and ingested logs). The plain
    field filter would ask the relay log itself for its distinct hosts: a scan of millions of rows."""

    title = _("mail host")
    parameter_name = "host"

    def lookups(self, request, model_admin):
        names = set(MailHost.objects.values_list("name", flat=True))
        names |= set(IngestState.objects.exclude(host="").values_list("host", flat=True))
        return [(name, name) for name in sorted(names)]

    def queryset(self, request, queryset):
        return queryset.filter(host=self.value()) if self.value() else queryset


@admin.register(RelayMessage)
class RelayMessageAdmin(StaffSearchAdmin):
    list_display = ["received_at", "host", "queue_id", "sender", "customer", "status", "message_id"]
    # No date_hierarchy: it lists the distinct days of the relay log, a scan of the whole table. The time
    # filter below narrows to today, the past week or month without one.
    list_filter = ["status", MailHostFilter, "direction", "received_at"]
    # Searched by `relay.search.staff_search` (indexed, exact); naming the fields here shows the search box.
    search_fields = ["queue_id", "message_id", "sender", "recipients__address", "credential__username"]
    search_help_text = _(
        "A queue id, Message-ID, sender or recipient address, or relay credential username (exact)."
    )
    list_select_related = ["customer"]
    show_full_result_count = False
    raw_id_fields = ["customer", "credential", "bounce_of"]
    inlines = [RecipientInline, EventInline]

    staff_search = staticmethod(search.staff_search)
    cut_message = _("Many messages match: the search shows the newest %(count)s of each kind of match.")


class DsnFilter(admin.SimpleListFilter):
    """The DSN codes the panel explains, a fixed list: the plain field filter would ask the table for its
    distinct codes, a scan of every rejected attempt on each page view."""

    title = _("DSN code")
    parameter_name = "dsn"

    def lookups(self, request, model_admin):
        return [(code, code) for code in EXPLANATIONS if not code.startswith("2.")]

    def queryset(self, request, queryset):
        return queryset.filter(dsn=self.value()) if self.value() else queryset


@admin.register(RejectedAttempt)
class RejectedAttemptAdmin(StaffSearchAdmin):
    list_display = ["at", "host", "sender", "recipient", "dsn", "customer", "client"]
    # No date_hierarchy and no plain host or DSN filter: each would list distinct values of the whole table.
    list_filter = [MailHostFilter, DsnFilter, "at"]
    # Searched by `relay.search.staff_search_rejects` (indexed, exact); naming the fields shows the box.
    search_fields = ["sender", "recipient", "client_ip"]
    search_help_text = _("A sender or recipient address, or the client's IP address (exact).")
    list_select_related = ["customer"]
    show_full_result_count = False

    staff_search = staticmethod(search.staff_search_rejects)
    time_field = "at"
    cut_message = _("Many attempts match: the search shows the newest %(count)s of each kind of match.")


@admin.register(RelayLogSource)
class RelayLogSourceAdmin(admin.ModelAdmin):
    list_display = ["mailhost", "path", "is_enabled"]
    list_filter = ["is_enabled"]


@admin.register(IngestState)
class IngestStateAdmin(ReadOnlyAdmin):
    list_display = ["host", "path", "inode", "offset", "lines", "updated_at"]
