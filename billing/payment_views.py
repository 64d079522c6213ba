"""Paying online, Mollie's webhook, the payments page and cancelling the account. Thin: the work is in
`billing.payments` and `billing.cancellation`."""

import re

from django import forms
from django.contrib import messages
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tenants.access import allowed_while_suspended, owner_required
from tenants.audit import Actor

from . import mollie
from .access import billing_role_required, get_invoice_or_404
from .cancellation import cancel_account, cancellation_terms
from .models import Cancellation, Payment, PaymentAccount, Refund
from .payments import handle_webhook, refresh_payment, start_payment
from .services import BillingError

MOLLIE_PAYMENT_ID = re.compile(r"^tr_[A-Za-z0-9]{1,40}$")


@allowed_while_suspended
@require_POST
@billing_role_required
def invoice_pay(request, pk: int):
    """Send the customer to Mollie's payment page for the invoice (the same page again after a double click)."""
    invoice = get_invoice_or_404(request, pk)
    try:
        payment = start_payment(invoice=invoice, actor=Actor.from_request(request))
    except BillingError as error:
        messages.error(request, str(error))
        return redirect(invoice)
    return redirect(payment.checkout_url)


@billing_role_required
def payment_return(request, reference: str):
    """Where Mollie sends the customer back. The URL proves nothing: we ask Mollie what happened."""
    payment = get_object_or_404(Payment.objects.for_customer(request.customer), reference=reference)
    if payment.mollie_id and payment.is_in_progress:
        try:
            refresh_payment(payment=payment)
        except mollie.MollieError:
            pass  # the webhook will tell us; the page says it is still being processed
        payment.refresh_from_db()
    if payment.status == Payment.Status.PAID:
        messages.success(request, _("Thank you: we received your payment."))
    elif payment.is_in_progress:
        messages.info(request, _("Your payment is being processed. This page shows it as paid once it is."))
    else:
        messages.error(
            request,
            _("The payment did not go through (%(status)s). You can try again.")
            % {"status": payment.get_status_display().lower()},
        )
    return redirect(payment.invoice)


@csrf_exempt
@require_POST
def payment_webhook(request):
    """Mollie's webhook: only an id. Unknown ids change nothing; Mollie hears 200 either way (no probing)."""
    mollie_id = request.POST.get("id", "")
    if not MOLLIE_PAYMENT_ID.match(mollie_id):
        return HttpResponseBadRequest("invalid id", content_type="text/plain")
    try:
        outcome = handle_webhook(mollie_id)
    except mollie.MollieError:
        return HttpResponse("try again", status=503, content_type="text/plain")  # Mollie retries later
    return HttpResponse(outcome, content_type="text/plain")


@billing_role_required
def payment_list(request):
    customer = request.customer
    context = {
        "payments": Payment.objects.for_customer(customer).select_related("invoice")[:100],
        "refunds": Refund.objects.filter(payment__customer=customer).select_related(
            "payment", "credit_invoice"
        )[:100],
        "account": PaymentAccount.objects.filter(customer=customer).first(),
        "online": mollie.online_payments_enabled(),
    }
    return render(request, "billing/payment_list.html", context)


class CancelForm(forms.Form):
    confirm = forms.CharField(label=gettext_lazy("Type the name of the account to confirm"), max_length=200)

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer

    def clean_confirm(self):
        typed = " ".join(self.cleaned_data["confirm"].split())
        if typed.casefold() != " ".join(self.customer.name.split()).casefold():
            raise forms.ValidationError(
                _("That is not the account's name. Type %(name)s to cancel.") % {"name": self.customer.name}
            )
        return typed


@owner_required
def account_cancel(request):
    """The consequences, a typed confirmation, then the cancellation; afterwards its state and dates."""
    customer = request.customer
    cancellation = Cancellation.objects.filter(customer=customer).first()
    if cancellation is not None:
        if request.method == "POST":
            messages.info(request, _("This account has already been cancelled; nothing changed."))
            return redirect("billing:account_cancel")
        return render(request, "billing/cancel_done.html", {"cancellation": cancellation})
    form = CancelForm(request.POST or None, customer=customer)
    if request.method == "POST" and form.is_valid():
        try:
            cancel_account(customer=customer, actor=Actor.from_request(request))
        except BillingError as error:
            messages.error(request, str(error))
        except mollie.MollieError as error:
            messages.error(
                request,
                _("The refund could not be sent (%(error)s); nothing was cancelled. Please try again later.")
                % {"error": error},
            )
        else:
            messages.success(
                request, _("Your account has been cancelled. We sent you an e-mail with the details.")
            )
        return redirect("billing:account_cancel")
    return render(request, "billing/cancel.html", {"form": form, "terms": cancellation_terms(customer)})
