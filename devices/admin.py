from django.contrib import admin

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
    readonly_fields = ["revision", "changed_at"]

    def has_change_permission(self, request, obj=None):
        return False  # switched on and off through the service (it bumps the host's revision)

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
