"""Admin for domains."""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from mailhosts.models import LiveState, MailHost
from tenants.audit import Actor
from tenants.models import Customer

from ..models import Domain
from ..services import domains as domain_services
from .actions import reapply_mail_hosts


class MoveDomainsForm(forms.Form):
    customer = forms.ModelChoiceField(
        label=_("Customer"),
        queryset=Customer.objects.order_by("name"),
        required=False,
        help_text=_("Leave empty to keep each domain with its customer. Mailboxes and aliases move along."),
    )
    mailhost = forms.ModelChoiceField(
        label=_("Mail host"),
        queryset=MailHost.objects.order_by("name"),
        required=False,
        help_text=_(
            "Leave empty to keep each domain on its mail host. Copy the mail itself between the hosts."
        ),
    )

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("customer") and not cleaned.get("mailhost"):
            raise forms.ValidationError(_("Choose a customer, a mail host or both."))
        return cleaned


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
    actions = ["move_domains", reapply_mail_hosts]

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
        """Staff may move a domain to another customer or mail host: through the service, which moves its
        mailboxes and aliases along, tells both hosts and audits the change."""
        domain_services.move_domain(
            domain=obj,
            customer=form.cleaned_data["customer"],
            mailhost=form.cleaned_data["mailhost"],
            actor=Actor.from_request(request),
        )

    @admin.action(description=_("Move to another customer or mail host…"))
    def move_domains(self, request, queryset):
        """Asks where to first (an intermediate page), then moves each domain through the service."""
        form = MoveDomainsForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            context = {
                **self.admin_site.each_context(request),
                "title": _("Move domains"),
                "domains": queryset,
                "form": form,
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/mailaccounts/domain/move.html", context)
        actor = Actor.from_request(request)
        moved = 0
        for domain in queryset.select_related("customer", "mailhost"):
            changes = domain_services.move_domain(
                domain=domain,
                customer=form.cleaned_data["customer"] or domain.customer,
                mailhost=form.cleaned_data["mailhost"] or domain.mailhost,
                actor=actor,
            )
            moved += bool(changes)
        self.message_user(
            request, ngettext("%d domain moved.", "%d domains moved.", moved) % moved, messages.SUCCESS
        )
