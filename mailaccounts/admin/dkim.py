"""Admin for DKIM keys (never the private part), DNS check results and DNS settings, per domain."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from ..models import DkimKey, DnsCheckResult, DomainDnsSettings


@admin.register(DkimKey)
class DkimKeyAdmin(admin.ModelAdmin):
    list_display = [
        "selector",
        "domain",
        "algorithm",
        "state",
        "created_at",
        "activated_at",
        "retiring_at",
        "retired_at",
    ]
    list_filter = ["state", "algorithm"]
    search_fields = ["selector", "domain__name", "domain__customer__name"]
    list_select_related = ["domain"]
    # The private key is never shown nor editable here; keys are made and rotated through the services.
    fields = [
        "domain",
        "selector",
        "algorithm",
        "state",
        "public_key",
        "created_at",
        "activated_at",
        "retiring_at",
        "retired_at",
        "revision",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(DnsCheckResult)
class DnsCheckResultAdmin(admin.ModelAdmin):
    list_display = ["domain", "record_key", "rtype", "status", "checked_at", "ok_since"]
    list_filter = ["status", "rtype"]
    search_fields = ["domain__name", "domain__customer__name", "name", "record_key"]
    list_select_related = ["domain"]
    readonly_fields = [
        "domain",
        "record_key",
        "name",
        "rtype",
        "status",
        "expected",
        "found",
        "problems_text",
        "checked_at",
        "ok_since",
    ]
    exclude = ["problems"]

    @admin.display(description=_("problems"))
    def problems_text(self, obj):
        return "\n".join(obj.problem_messages)

    def has_add_permission(self, request):
        return False


@admin.register(DomainDnsSettings)
class DomainDnsSettingsAdmin(admin.ModelAdmin):
    list_display = ["domain", "dmarc_policy", "dmarc_report_email", "mta_sts_mode", "dns_checked_at"]
    list_filter = ["dmarc_policy", "mta_sts_mode"]
    search_fields = ["domain__name", "domain__customer__name"]
    list_select_related = ["domain"]
    readonly_fields = ["domain", "dns_checked_at", "updated_at"]
