"""The customer's panel: dashboard, onboarding, plan, team, security and activity pages."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import F
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import services
from .access import customer_required, may_manage_mail, owner_required
from .audit import Actor
from .forms import ChangePlanForm, InviteForm, OnboardingForm, TwoFactorRequirementForm
from .models import AuditEntry, Invitation, Membership, Plan

NEAR_QUOTA_RATIO = 0.9
NEAR_QUOTA_SHOWN = 10


def get_membership_or_404(request, pk: int) -> Membership:
    return get_object_or_404(Membership.objects.select_related("user"), pk=pk, customer=request.customer)


def get_invitation_or_404(request, pk: int) -> Invitation:
    return get_object_or_404(Invitation, pk=pk, customer=request.customer, accepted_at__isnull=True)


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


@customer_required
def dashboard(request):
    from mailaccounts.dnscheck import with_dns_health
    from mailaccounts.models import Domain, Mailbox

    customer = request.customer
    domains, near_quota = [], []
    if may_manage_mail(request.membership):  # the billing role sees the plan, storage and invoices only
        domains = list(with_dns_health(Domain.objects.for_customer(customer)).select_related("mailhost"))
        near_quota = list(
            Mailbox.objects.for_customer(customer)
            .active()
            .filter(quota_bytes__gt=0, used_bytes__gte=F("quota_bytes") * NEAR_QUOTA_RATIO)
            .select_related("domain")
            .order_by("-used_bytes")[:NEAR_QUOTA_SHOWN]
        )
    without_two_factor = services.members_without_two_factor(customer) if customer.require_two_factor else []
    context = {
        "storage": services.storage_use(customer),
        "domains": domains,
        "unverified_domains": [domain for domain in domains if not domain.is_verified],
        "near_quota": near_quota,
        "without_two_factor": without_two_factor,
    }
    return render(request, "panel/dashboard.html", context)


@login_required
def onboarding(request):
    if request.customer is not None:
        return redirect("dashboard")
    form = OnboardingForm(request.POST or None, initial={"billing_email": request.user.email})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.create_customer(
                owner=request.user, actor=Actor.from_request(request), language=get_language(), **data
            )
        except ValidationError as error:
            messages.error(request, _error_text(error))
            return redirect("dashboard")
        messages.success(request, _("Welcome to Postbode. Add your first domain to get started."))
        return redirect("dashboard")
    invitations = services.pending_invitations_for(request.user)
    return render(request, "panel/onboarding.html", {"form": form, "invitations": invitations})


@customer_required
def plan(request):
    customer = request.customer
    plans = list(Plan.objects.available())
    preview_plan = next((p for p in plans if p.code == request.GET.get("preview")), None)
    preview = None
    if preview_plan is not None and preview_plan.pk != customer.plan_id:
        preview = services.preview_plan_change(customer=customer, plan=preview_plan)
    storage = services.storage_use(customer)
    context = {
        "plans": plans,
        "storage": storage,
        "preview_excess": max(0, storage.allocated_bytes - preview_plan.storage_bytes) if preview else 0,
        "preview_plan": preview_plan if preview else None,
        "preview": preview,
        "subscriptions": customer.subscriptions.select_related("plan", "changed_by"),
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
        services.change_plan(customer=request.customer, plan=new_plan, actor=Actor.from_request(request))
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return redirect(f"{reverse('plan')}?preview={new_plan.code}")
    messages.success(request, _("Your plan is now %(plan)s.") % {"plan": new_plan.name})
    return redirect("plan")


@customer_required
def team(request):
    customer = request.customer
    context = {
        "memberships": customer.memberships.select_related("user"),
        "invitations": customer.invitations.filter(accepted_at__isnull=True).select_related("invited_by"),
        "invite_form": InviteForm(),
        "two_factor_form": TwoFactorRequirementForm(
            initial={"require_two_factor": customer.require_two_factor}
        ),
        "owner_count": sum(1 for m in customer.memberships.all() if m.is_owner),
    }
    return render(request, "panel/team.html", context)


@require_POST
@owner_required
def team_invite(request):
    form = InviteForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect("team")
    try:
        services.invite_member(
            customer=request.customer,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            actor=Actor.from_request(request),
            base_url=request.build_absolute_uri("/"),
        )
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return redirect("team")
    messages.success(request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]})
    return redirect("team")


@require_POST
@owner_required
def team_invitation_cancel(request, pk):
    invitation = get_invitation_or_404(request, pk)
    services.cancel_invitation(invitation=invitation, actor=Actor.from_request(request))
    messages.success(request, _("Invitation for %(email)s cancelled.") % {"email": invitation.email})
    return redirect("team")


@require_POST
@owner_required
def team_member_remove(request, pk):
    membership = get_membership_or_404(request, pk)
    try:
        services.remove_member(membership=membership, actor=Actor.from_request(request))
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return redirect("team")
    messages.success(request, _("%(email)s no longer has access.") % {"email": membership.user.email})
    if membership.user_id == request.user.pk:
        return redirect("onboarding")
    return redirect("team")


@require_POST
@owner_required
def team_two_factor(request):
    form = TwoFactorRequirementForm(request.POST)
    form.is_valid()  # a checkbox: absent means off
    required = bool(form.cleaned_data.get("require_two_factor"))
    try:
        services.set_two_factor_requirement(
            customer=request.customer, required=required, actor=Actor.from_request(request)
        )
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return redirect("team")
    if required:
        messages.success(request, _("Two-factor authentication is now required for all users."))
    else:
        messages.success(request, _("Two-factor authentication is now optional."))
    return redirect("team")


def invitation_accept(request, token):
    invitation = services.find_invitation(token)
    if invitation is None:
        return render(request, "panel/invitation_invalid.html", status=404)
    refusal = None
    if request.user.is_authenticated:
        refusal = services.invitation_refusal(invitation=invitation, user=request.user)
    if request.method == "POST" and request.user.is_authenticated and refusal is None:
        try:
            services.accept_invitation(
                invitation=invitation, user=request.user, actor=Actor.from_request(request)
            )
        except ValidationError as error:
            messages.error(request, _error_text(error))
            return redirect("invitation_accept", token=token)
        messages.success(request, _("You joined %(customer)s.") % {"customer": invitation.customer.name})
        return redirect("dashboard")
    context = {"invitation": invitation, "refusal": refusal, "here": request.get_full_path()}
    return render(request, "panel/invitation_accept.html", context)


@customer_required
def account_settings(request):
    from allauth.mfa.models import Authenticator

    try:
        sessions_url = reverse("usersessions_list")
    except NoReverseMatch:
        sessions_url = None
    authenticator_types = set(Authenticator.objects.filter(user=request.user).values_list("type", flat=True))
    context = {
        "sessions_url": sessions_url,
        "has_totp": Authenticator.Type.TOTP in authenticator_types,
        "has_webauthn": Authenticator.Type.WEBAUTHN in authenticator_types,
        "has_recovery_codes": Authenticator.Type.RECOVERY_CODES in authenticator_types,
    }
    return render(request, "panel/account_settings.html", context)


@customer_required
def audit_log(request):
    entries = AuditEntry.objects.visible_to(request.membership).order_by("-at", "-id")
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "panel/audit_log.html", {"page": page})
