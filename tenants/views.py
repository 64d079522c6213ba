"""The account pages of the tenant core: onboarding, plan, team, invitations, security and activity."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import services
from .access import customer_required, is_limited_to_mailbox, owner_required, signed_in_user_required
from .audit import Actor
from .forms import InviteForm, OnboardingForm, TwoFactorRequirementForm
from .models import AuditEntry, Invitation, Membership


def get_membership_or_404(request, pk: int) -> Membership:
    return get_object_or_404(Membership.objects.select_related("user"), pk=pk, customer=request.customer)


def get_invitation_or_404(request, pk: int) -> Invitation:
    return get_object_or_404(Invitation, pk=pk, customer=request.customer, accepted_at__isnull=True)


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


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
    if is_limited_to_mailbox(request):  # a mailbox's own login never becomes a team member
        refusal = _(
            "You are signed in with a mailbox. To join the team with this address, ask an owner to switch off "
            "the mailbox's own login (on the mailbox's page), then sign up with the address."
        )
    elif request.user.is_authenticated:
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


@signed_in_user_required
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
        "own_mailbox": request.own_mailbox if is_limited_to_mailbox(request) else None,
    }
    return render(request, "panel/account_settings.html", context)


@customer_required
def audit_log(request):
    entries = AuditEntry.objects.visible_to(request.membership).order_by("-at", "-id")
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "panel/audit_log.html", {"page": page})
