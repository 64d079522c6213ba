from django.contrib import admin

from .models import SsoToken


@admin.register(SsoToken)
class SsoTokenAdmin(admin.ModelAdmin):
    """Read-only: who opened which mailbox's webmail from the panel, and whether the link was used."""

    list_display = ["mailbox", "created_by", "created_at", "expires_at", "used_at"]
    list_select_related = ["mailbox__domain", "created_by"]
    search_fields = ["mailbox__local_part", "mailbox__domain__name"]
    readonly_fields = ["mailbox", "token_hash", "created_by", "created_at", "expires_at", "used_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
