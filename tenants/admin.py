"""Staff screens: customers (with suspend/reactivate), users, plans, subscriptions and the audit log."""

from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import services
from .audit import Actor
from .models import (
    AuditEntry,
    Customer,
    Invitation,
    Membership,
    Plan,
    SignedInSession,
    Subscription,
    TwoFactorMethod,
    User,
)


class SuspendForm(forms.Form):
    reason = forms.CharField(label=_("Reason (shown to staff, recorded in the audit log)"), max_length=200)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = [
        "email",
        "first_name",
        "last_name",
        "customer_name",
        "is_staff",
        "is_active",
        "last_login",
    ]
    list_filter = ["is_staff", "is_superuser", "is_active", "membership__role"]
    search_fields = ["email", "first_name", "last_name", "membership__customer__name"]
    list_select_related = ["membership__customer"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    @admin.display(description=_("customer"), ordering="membership__customer__name")
    def customer_name(self, user):
        membership = getattr(user, "membership", None)
        return membership.customer.name if membership else "—"


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "code",
        "price_monthly",
        "price_incl_vat",
        "storage",
        "is_active",
        "sort_order",
    ]
    list_editable = ["is_active", "sort_order"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"code": ("name",)}

    @admin.display(description=_("price per month incl. VAT"))
    def price_incl_vat(self, plan):
        return plan.price_monthly_incl_vat

    @admin.display(description=_("storage (GB)"))
    def storage(self, plan):
        return plan.storage_gb


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    extra = 0
    fields = ["plan", "started_at", "ended_at", "changed_by"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # plan changes go through the service (change_plan), which keeps the history


class InvitationInline(admin.TabularInline):
    model = Invitation
    extra = 0
    fields = ["email", "role", "invited_by", "created_at", "accepted_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "plan", "status", "support_pin", "created_at", "domain_count", "billing_email"]
    list_filter = ["status", "plan", "require_two_factor", "country", "created_at"]
    search_fields = [
        "name",
        "billing_email",
        "memberships__user__email",
        "domains__name",
        "vat_number",
        "=support_pin",
        "phone",
    ]
    list_select_related = ["plan"]
    readonly_fields = ["plan", "status", "suspended_reason", "suspended_at", "support_pin", "created_at"]
    inlines = [MembershipInline, SubscriptionInline, InvitationInline]
    actions = ["suspend", "reactivate"]
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(domain_count=Count("domains", distinct=True))
            .order_by("name")
        )

    @admin.display(description=_("domains"), ordering="domain_count")
    def domain_count(self, customer):
        return customer.domain_count

    def get_readonly_fields(self, request, obj=None):
        if (
            obj is None
        ):  # a new customer starts on the plan staff choose; later changes go through change_plan
            return [field for field in self.readonly_fields if field != "plan"]
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        """Staff edits go through the services, audited like any other change (only the fields whose stored
        value really changed: a form may count a field as changed that only lacked its hidden initial)."""
        actor = Actor.from_request(request)
        if not change:
            services.add_customer_by_staff(customer=obj, actor=actor)
            return
        values = {
            field: form.cleaned_data[field] for field in form.changed_data if field in form.cleaned_data
        }
        obj.refresh_from_db()  # the service compares with and changes the stored row, not the form's copy
        services.edit_customer_by_staff(customer=obj, values=values, actor=actor)

    @admin.action(description=_("Suspend selected customers"))
    def suspend(self, request, queryset):
        """Asks for a reason first (an intermediate page), then suspends through the service."""
        form = SuspendForm(request.POST if "reason" in request.POST else None)
        if not form.is_valid():
            context = {
                **self.admin_site.each_context(request),
                "title": _("Suspend customers"),
                "customers": queryset,
                "form": form,
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/panel/customer/suspend.html", context)
        actor = Actor.from_request(request)
        for customer in queryset:
            services.suspend_customer(customer=customer, reason=form.cleaned_data["reason"], actor=actor)
        count = queryset.count()
        self.message_user(
            request,
            ngettext("%d customer suspended.", "%d customers suspended.", count) % count,
            messages.SUCCESS,
        )

    @admin.action(description=_("Reactivate selected customers"))
    def reactivate(self, request, queryset):
        actor = Actor.from_request(request)
        for customer in queryset:
            services.reactivate_customer(customer=customer, actor=actor)
        count = queryset.count()
        self.message_user(
            request,
            ngettext("%d customer reactivated.", "%d customers reactivated.", count) % count,
            messages.SUCCESS,
        )


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["customer", "plan", "started_at", "ended_at", "changed_by"]
    list_filter = ["plan", ("ended_at", admin.EmptyFieldListFilter)]
    search_fields = ["customer__name", "plan__name"]
    list_select_related = ["customer", "plan", "changed_by"]
    autocomplete_fields = ["customer", "plan", "changed_by"]
    date_hierarchy = "started_at"

    def has_change_permission(self, request, obj=None):
        return False  # history: written by change_plan only

    def has_add_permission(self, request):
        return False


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "customer", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "customer__name"]
    autocomplete_fields = ["user", "customer"]
    list_select_related = ["user", "customer"]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "actor_label", "actor_kind", "customer", "action", "object_repr", "ip_address"]
    list_filter = ["actor_kind", "action", "object_type", "at"]
    search_fields = ["actor_label", "action", "object_repr", "customer__name", "ip_address"]
    list_select_related = ["customer"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# allauth registers its own admins with English labels; ours show the same records in the staff's language, read
# only: staff remove a lost second factor or end a session, and never see a secret (the TOTP seed in `data`).
admin.site.unregister(Authenticator)
admin.site.unregister(UserSession)


class AllauthRecordAdmin(admin.ModelAdmin):
    list_select_related = ["user"]
    search_fields = ["user__email"]

    @admin.display(description=_("user"), ordering="user__email")
    def user_email(self, record):
        return record.user.email

    @admin.display(description=_("created at"), ordering="created_at")
    def added(self, record):
        return record.created_at

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TwoFactorMethod)
class TwoFactorMethodAdmin(AllauthRecordAdmin):
    list_display = ["user_email", "kind", "added", "last_used"]
    list_filter = [("type", admin.ChoicesFieldListFilter)]
    fields = readonly_fields = ["user_email", "kind", "added", "last_used"]

    @admin.display(description=_("kind"), ordering="type")
    def kind(self, method):
        return {
            Authenticator.Type.TOTP: _("Authenticator app"),
            Authenticator.Type.RECOVERY_CODES: _("Recovery codes"),
            Authenticator.Type.WEBAUTHN: _("Security key or passkey"),
        }.get(method.type, method.type)

    @admin.display(description=_("last used"), ordering="last_used_at")
    def last_used(self, method):
        return method.last_used_at

    def delete_model(self, request, obj):
        services.remove_authenticator_by_staff(authenticator=obj, actor=Actor.from_request(request))

    def delete_queryset(self, request, queryset):
        for authenticator in queryset.select_related("user"):
            services.remove_authenticator_by_staff(
                authenticator=authenticator, actor=Actor.from_request(request)
            )


@admin.register(SignedInSession)
class SignedInSessionAdmin(AllauthRecordAdmin):
    list_display = ["user_email", "added", "last_seen", "ip_address", "browser"]
    fields = readonly_fields = ["user_email", "added", "last_seen", "ip_address", "browser"]

    @admin.display(description=_("last seen"), ordering="last_seen_at")
    def last_seen(self, session):
        return session.last_seen_at

    @admin.display(description=_("IP address"), ordering="ip")
    def ip_address(self, session):
        return session.ip

    @admin.display(description=_("browser"))
    def browser(self, session):
        return session.user_agent
