"""The plan page: the customer's plan and storage pool, the other plans with a preview of a switch."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from mailaccounts.services.storage import pool_summary
from tenants.access import customer_required, owner_required
from tenants.audit import Actor
from tenants.models import Plan

from .forms import ChangePlanForm
from .plans import change_plan, preview_plan_change

# What every plan includes, as the product page sells it; what it sells but the panel does not offer yet is
# listed as coming, never as included.
PLAN_FEATURES = [
    gettext_lazy("Your own domains, with DKIM, SPF and DMARC set up for you"),
    gettext_lazy("Automatic replies, forwarding and catch-all addresses"),
    gettext_lazy("SMTP relay for your website or shop, with a searchable log"),
    gettext_lazy("Spam filter"),
    gettext_lazy("Daily backups with restore"),
    gettext_lazy("Shared calendars and contacts"),
    gettext_lazy("Webmail from anywhere, with your own signature"),
    gettext_lazy("Phone and e-mail support in Dutch"),
]
COMING_FEATURES: list = []


@customer_required
def plan(request):
    """The customer's plan, every available plan compared feature by feature, and a preview of a change."""
    customer = request.customer
    plans = list(Plan.objects.available())
    preview_plan = next((p for p in plans if p.code == request.GET.get("preview")), None)
    preview = None
    if preview_plan is not None and preview_plan.pk != customer.plan_id:
        preview = preview_plan_change(customer=customer, plan=preview_plan)
    storage = pool_summary(customer)
    context = {
        "plans": plans,
        "storage": storage,
        "preview_excess": max(0, storage.allocated_bytes - preview_plan.storage_bytes) if preview else 0,
        "preview_plan": preview_plan if preview else None,
        "preview": preview,
        "subscriptions": customer.subscriptions.select_related("plan", "changed_by"),
        "plan_features": PLAN_FEATURES,
        "coming_features": COMING_FEATURES,
    }
    return render(request, "panel/plan.html", context)


@require_POST
@owner_required
def plan_change(request):
    form = ChangePlanForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the available plans."))
        return redirect("plan")
    new_plan = form.cleaned_data["plan"]
    try:
        change_plan(customer=request.customer, plan=new_plan, actor=Actor.from_request(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(f"{reverse('plan')}?preview={new_plan.code}")
    messages.success(request, _("Your plan is now %(plan)s.") % {"plan": new_plan.name})
    return redirect("plan")
