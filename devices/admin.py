from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from tenants.audit import Actor

from . import services
from .models import ClientEndpoints, ProfileLink, SharedCollections


@admin.register(ClientEndpoints)
class ClientEndpointsAdmin(admin.ModelAdmin):
    list_display = ["mailhost", "server", "imaps_port", "submissions_port", "dav_port", "dav_storage_dir"]


@admin.register(SharedCollections)
class SharedCollectionsAdmin(admin.ModelAdmin):
    list_display = ["domain", "is_enabled", "changed_at"]
    list_filter = ["is_enabled"]
    search_fields = ["domain__name"]
    raw_id_fields = ["domain"]
    readonly_fields = ["domain", "is_enabled", "revision", "changed_at"]
    actions = ["switch_on", "switch_off"]

    def has_change_permission(self, request, obj=None):
        return obj is None  # the list and its actions; rows change only through the service (host revision)

    def switch(self, request, queryset, *, enabled: bool) -> None:
        actor = Actor.from_request(request)
        for shared in queryset.select_related("domain__mailhost", "domain__customer"):
            services.set_shared_collections(actor=actor, domain=shared.domain, enabled=enabled)
        count = queryset.count()
        self.message_user(
            request,
            ngettext("%(count)d domain changed.", "%(count)d domains changed.", count) % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Switch the company calendar and address book on"))
    def switch_on(self, request, queryset):
        self.switch(request, queryset, enabled=True)

    @admin.action(description=_("Switch the company calendar and address book off (the data is kept)"))
    def switch_off(self, request, queryset):
        self.switch(request, queryset, enabled=False)

    def has_add_permission(self, request):
        return False


@admin.register(ProfileLink)
class ProfileLinkAdmin(admin.ModelAdmin):
    list_display = ["mailbox", "created_at", "expires_at", "used_at"]
    search_fields = ["mailbox__local_part", "mailbox__domain__name"]
    raw_id_fields = ["mailbox"]
    readonly_fields = ["mailbox", "token_hash", "created_at", "expires_at", "used_at"]

    def has_add_permission(self, request):
        return False
