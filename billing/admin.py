"""Staff view of invoices: read-only documents, with actions to record a payment and issue a credit."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import models
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from tenants.audit import Actor

from . import services
from .cancellation import restore_account
from .forms import CreditInvoiceForm, MarkPaidForm
from .models import Cancellation, Invoice, InvoiceLine, InvoiceNumberSequence, Payment, PaymentAccount, Refund


class OverdueFilter(admin.SimpleListFilter):
    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("Overdue")), ("no", _("Not overdue"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.overdue()
        if self.value() == "no":
            return queryset.not_overdue()
        return queryset


class InvoiceLineInline(admin.TabularInline):
    """Lines are written by generation and never edited here."""

    model = InvoiceLine
    fields = [
        "position",
        "description",
        "period_start",
        "period_end",
        "days",
        "days_in_month",
        "unit_price",
        "amount",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class PaymentInline(ReadOnlyInline):
    """What Mollie said about each payment of the invoice (staff record bank transfers with "Mark paid")."""

    model = Payment
    fields = [
        "mollie_id",
        "sequence_type",
        "method",
        "status",
        "amount",
        "amount_refunded",
        "amount_charged_back",
        "created_at",
        "paid_at",
    ]
    readonly_fields = fields


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "customer",
        "period_start",
        "status_label",
        "total_incl_vat",
        "due_date",
        "overdue",
        "credit_for",
    ]
    list_select_related = ["customer", "credit_for"]
    list_filter = ["status", OverdueFilter, "reverse_charge", "year"]
    search_fields = ["number", "customer__name", "billed_name"]
    date_hierarchy = "period_start"
    inlines = [InvoiceLineInline, PaymentInline]
    view_on_site = False  # the customer page is scoped to the customer's own users
    actions = ["mark_paid_action", "issue_credit_action"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "number",
                    "customer",
                    "status",
                    "period_start",
                    "period_end",
                    "credit_for",
                    "credit_reason",
                    "credited_by",
                ]
            },
        ),
        (
            _("Dates"),
            {"fields": ["issued_at", "due_date", "paid_at", "payment_reference", "reminder_sent_at"]},
        ),
        (
            _("Amounts"),
            {"fields": ["total_excl_vat", "vat_rate", "vat_amount", "total_incl_vat", "reverse_charge"]},
        ),
        (
            _("Billed to"),
            {
                "fields": [
                    "billed_name",
                    "billed_address",
                    "billed_postal_code",
                    "billed_city",
                    "billed_country",
                    "billed_vat_number",
                ]
            },
        ),
    ]

    @admin.display(description=_("status"), ordering="status")
    def status_label(self, invoice):
        return invoice.display_status_label

    @admin.display(description=_("overdue"), boolean=True)
    def overdue(self, invoice):
        return invoice.is_overdue()

    @admin.display(description=_("credited by"))
    def credited_by(self, invoice):
        return ", ".join(str(credit) for credit in invoice.credit_invoices.all()) or "-"

    def get_readonly_fields(self, request, obj=None):
        return [f for fieldset in self.fieldsets for f in fieldset[1]["fields"]]

    def has_add_permission(self, request):
        return False  # invoices come from generation (task or `manage.py invoices generate`)

    def has_change_permission(self, request, obj=None):
        return False  # an invoice is a document: changes happen only through the actions below

    def has_delete_permission(self, request, obj=None):
        return False

    def has_record_payment_permission(self, request):
        return request.user.has_perm("billing.change_invoice")

    @admin.action(description=_("Mark paid…"), permissions=["record_payment"])
    def mark_paid_action(self, request, queryset):
        form = MarkPaidForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            actor = Actor.from_request(request)
            return self._apply(
                request,
                queryset,
                lambda invoice: services.mark_paid(
                    invoice=invoice,
                    paid_on=form.cleaned_data["paid_on"],
                    reference=form.cleaned_data["reference"],
                    actor=actor,
                ),
                lambda count: ngettext(
                    "%(count)d invoice marked paid.", "%(count)d invoices marked paid.", count
                ),
            )
        return self._ask(request, queryset, form, "mark_paid_action", _("Mark invoices paid"))

    @admin.action(description=_("Issue credit invoice…"), permissions=["record_payment"])
    def issue_credit_action(self, request, queryset):
        form = CreditInvoiceForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            actor = Actor.from_request(request)
            return self._apply(
                request,
                queryset,
                lambda invoice: services.issue_credit_invoice(
                    original=invoice, actor=actor, reason=form.cleaned_data["reason"]
                ),
                lambda count: ngettext(
                    "%(count)d credit invoice issued.", "%(count)d credit invoices issued.", count
                ),
            )
        return self._ask(request, queryset, form, "issue_credit_action", _("Issue credit invoices"))

    def _apply(self, request, queryset, operation, success_message):
        done = 0
        for invoice in queryset.order_by("pk"):
            try:
                operation(invoice)
                done += 1
            except services.BillingError as error:
                self.message_user(request, f"{invoice}: {error}", messages.ERROR)
        if done:
            self.message_user(request, success_message(done) % {"count": done}, messages.SUCCESS)
        return None

    def _ask(self, request, queryset, form, action, title):
        """The intermediate page: the selected invoices and a form; submitting it runs the action again."""
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "invoices": queryset.select_related("customer"),
            "form": form,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/billing/invoice/action_form.html", context)


@admin.register(InvoiceNumberSequence)
class InvoiceNumberSequenceAdmin(admin.ModelAdmin):
    list_display = ["year", "last_number"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records of what happened at Mollie: staff read them, only the services write them."""

    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # Mollie's payment pages

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ["mollie_id", "amount", "status", "credit_invoice", "reason", "created_at"]
    readonly_fields = fields


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        "customer",
        "invoice",
        "sequence_type",
        "method",
        "status",
        "amount",
        "amount_refunded",
        "amount_charged_back",
        "created_at",
    ]
    list_select_related = ["customer", "invoice"]
    list_filter = ["status", "sequence_type", "method"]
    search_fields = ["=mollie_id", "=reference", "invoice__number", "customer__name"]
    date_hierarchy = "created_at"
    inlines = [RefundInline]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "payment", "amount", "status", "credit_invoice", "created_at"]
    list_select_related = ["payment", "credit_invoice"]
    list_filter = ["status"]
    search_fields = ["=mollie_id", "=payment__mollie_id", "payment__customer__name"]


@admin.register(PaymentAccount)
class PaymentAccountAdmin(ReadOnlyAdmin):
    list_display = [
        "customer",
        "mollie_customer_id",
        "mandate_status",
        "mandate_method",
        "first_paid_at",
        "suspended_for_payment_at",
    ]
    list_select_related = ["customer"]
    list_filter = ["mandate_status"]
    search_fields = ["customer__name", "=mollie_customer_id", "=mandate_id"]


@admin.register(Cancellation)
class CancellationAdmin(ReadOnlyAdmin):
    list_display = [
        "customer",
        "requested_at",
        "money_back",
        "service_ends_on",
        "closed_at",
        "delete_after",
        "deleted_at",
    ]
    list_select_related = ["customer"]
    list_filter = ["money_back"]
    search_fields = ["customer__name"]
    actions = ["restore_action"]

    def has_restore_permission(self, request):
        return request.user.has_perm("panel.change_customer")

    @admin.action(description=_("Restore the account (mail works again)"), permissions=["restore"])
    def restore_action(self, request, queryset):
        actor = Actor.from_request(request)
        for cancellation in queryset.select_related("customer"):
            try:
                restore_account(customer=cancellation.customer, actor=actor)
            except services.BillingError as error:
                self.message_user(request, f"{cancellation.customer}: {error}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("%(customer)s restored.") % {"customer": cancellation.customer},
                    messages.SUCCESS,
                )
