from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import DomainSpamPolicy, MailboxSpamPolicy, OutboundFlag, SenderListEntry, SpamHost, SpamResult
from .status import check_status


@admin.register(SpamHost)
class SpamHostAdmin(admin.ModelAdmin):
    list_display = ["mailhost", "is_up", "version", "scanned", "refused", "learned", "status_checked_at"]
    readonly_fields = [
        "is_up",
        "status",
        "status_error",
        "status_checked_at",
        "scan_inode",
        "scan_offset",
        "learn_inode",
        "learn_offset",
    ]
    actions = ["check_now"]

    @admin.display(description=_("version"))
    def version(self, obj):
        return obj.status.get("version", "—")

    @admin.display(description=_("scanned"))
    def scanned(self, obj):
        return obj.status.get("scanned", "—")

    @admin.display(description=_("refused"))
    def refused(self, obj):
        return (obj.status.get("actions") or {}).get("reject", "—")

    @admin.display(description=_("learned"))
    def learned(self, obj):
        return obj.status.get("learned", "—")

    @admin.action(description=_("Ask rspamd for its status now"))
    def check_now(self, request, queryset):
        up = sum(1 for spam_host in queryset if check_status(spam_host))
        self.message_user(request, _("%(up)d of %(all)d answered.") % {"up": up, "all": queryset.count()})


@admin.register(OutboundFlag)
class OutboundFlagAdmin(admin.ModelAdmin):
    list_display = [
        "login",
        "customer",
        "refused",
        "first_refused_at",
        "flagged_at",
        "owners_notified_at",
        "resolved_at",
    ]
    list_filter = [("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["login"]
    readonly_fields = [
        "login",
        "customer",
        "mailbox",
        "refused",
        "first_refused_at",
        "flagged_at",
        "owners_notified_at",
    ]
    actions = ["resolve"]

    @admin.action(description=_("Mark as resolved"))
    def resolve(self, request, queryset):
        count = queryset.filter(resolved_at__isnull=True).update(resolved_at=timezone.now())
        self.message_user(
            request,
            ngettext("%(count)d flag resolved.", "%(count)d flags resolved.", count) % {"count": count},
            messages.SUCCESS,
        )


@admin.register(SpamResult)
class SpamResultAdmin(admin.ModelAdmin):
    list_display = ["at", "host", "queue_id", "direction", "sender", "recipient", "login", "verdict", "score"]
    list_filter = ["direction", "verdict", "host"]
    search_fields = ["=queue_id", "=login", "=recipient", "=sender"]
    readonly_fields = [field.name for field in SpamResult._meta.fields]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False


@admin.register(DomainSpamPolicy)
class DomainSpamPolicyAdmin(admin.ModelAdmin):
    list_display = ["domain", "is_enabled", "sensitivity", "reject_score", "updated_at"]
    search_fields = ["domain__name"]
    readonly_fields = ["domain", "is_enabled", "sensitivity", "reject_score", "revision", "updated_at"]


@admin.register(MailboxSpamPolicy)
class MailboxSpamPolicyAdmin(admin.ModelAdmin):
    list_display = ["mailbox", "inherits", "is_enabled", "sensitivity", "reject_score", "junk_days"]
    search_fields = ["mailbox__local_part", "mailbox__domain__name"]
    readonly_fields = [
        "mailbox",
        "inherits",
        "is_enabled",
        "sensitivity",
        "reject_score",
        "junk_days",
        "revision",
        "updated_at",
    ]


@admin.register(SenderListEntry)
class SenderListEntryAdmin(admin.ModelAdmin):
    list_display = ["value", "kind", "domain", "mailbox", "created_at"]
    list_filter = ["kind"]
    search_fields = ["value", "domain__name"]
    readonly_fields = ["value", "kind", "domain", "mailbox", "created_at"]
