"""Admin for domains."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from mailhosts.models import LiveState
from tenants.audit import Actor

from ..models import Domain
from ..services import domains as domain_services
from .actions import reapply_mail_hosts


class VerifiedFilter(admin.SimpleListFilter):
    title = _("verified")
    parameter_name = "verified"

    def lookups(self, request, model_admin):
        return [("yes", _("Verified")), ("no", _("Unverified"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(verified_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(verified_at__isnull=True)
        return queryset


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "name_as_shown",
        "customer",
        "mailhost",
        "is_verified",
        "live_state",
        "created_at",
    ]
    list_filter = [VerifiedFilter, "mailhost", "created_at"]
    search_fields = ["name", "customer__name", "customer__billing_email"]
    list_select_related = ["customer", "mailhost"]
    autocomplete_fields = ["customer"]
    actions = [reapply_mail_hosts]

    @admin.display(description=_("name as shown (Unicode)"))
    def name_as_shown(self, obj):
        return obj.unicode_name

    readonly_fields = [
        "name",
        "verification_token",
        "verified_at",
        "verification_checked_at",
        "revision",
        "created_at",
    ]
    fields = [
        "name",
        "customer",
        "mailhost",
        "verification_token",
        "verified_at",
        "verification_checked_at",
        "revision",
        "created_at",
    ]
    date_hierarchy = "created_at"

    @admin.display(boolean=True, description=_("verified"), ordering="verified_at")
    def is_verified(self, domain):
        return domain.is_verified

    @admin.display(description=_("mail servers"))
    def live_state(self, domain):
        return LiveState(domain.live_state).label

    def has_add_permission(self, request):
        return False  # domains are added through the panel's service (validation, verification token)

    def save_model(self, request, obj, form, change):
        """Staff may move a domain to another customer or mail host: through the service, which tells both
        hosts and audits the change."""
        domain_services.save_domain_by_staff(
            domain=obj,
            previous_host_id=form.initial.get("mailhost") if "mailhost" in form.changed_data else None,
            changes={field: str(form.cleaned_data.get(field)) for field in form.changed_data},
            actor=Actor.from_request(request),
        )
