"""Business operations on customers, plans, team members and invitations.

Views, the admin and management commands call these; each owns its transaction and records an audit entry.
"""

import hashlib
import secrets
from datetime import timedelta

from allauth.account.adapter import get_adapter
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from .audit import Actor, record
from .emails import site_link
from .models import AuditEntry, Customer, Invitation, Membership, Plan, Subscription, User

INVITATION_VALID_FOR = timedelta(days=7)
INVITATIONS_PER_DAY = 20  # per customer: enough for a team, too few to use us for spam


@transaction.atomic
def create_customer(
    *,
    owner: User,
    name: str,
    billing_email: str,
    address: str,
    postal_code: str,
    city: str,
    country: str,
    plan: Plan,
    vat_number: str = "",
    phone: str = "",
    language: str = "",
    actor: Actor,
) -> Customer:
    """Create the customer with its first subscription and make `owner` its owner. `language` (of the
    e-mails about the account) defaults to the panel's."""
    if Membership.objects.filter(user=owner).exists():
        raise ValidationError(_("You already belong to a customer account."))
    customer = Customer.objects.create(
        name=name,
        billing_email=billing_email,
        address=address,
        postal_code=postal_code,
        phone=phone,
        city=city,
        country=country,
        vat_number=vat_number,
        language=email_language(language),
        plan=plan,
    )
    Subscription.objects.create(customer=customer, plan=plan, changed_by=owner)
    try:
        with transaction.atomic():
            Membership.objects.create(user=owner, customer=customer, role=Membership.Role.OWNER)
    except IntegrityError as error:  # a double submit raced us to it
        raise ValidationError(_("You already belong to a customer account.")) from error
    record(
        actor,
        "customer.created",
        customer=customer,
        obj=customer,
        changes={"plan": plan.code, "billing_email": billing_email},
    )
    return customer


def email_language(code: str | None) -> str:
    """One of the panel's languages for `code` (a request's, say "en-gb"), else the default."""
    base = (code or "").split("-")[0].lower()
    return base if base in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


CUSTOMER_DETAILS = [
    "name",
    "billing_email",
    "address",
    "postal_code",
    "city",
    "country",
    "vat_number",
    "phone",
    "language",
]


@transaction.atomic
def update_customer_details(*, customer: Customer, details: dict, actor: Actor) -> list[str]:
    """Change the organisation's details (those of `CUSTOMER_DETAILS` given); returns the fields that changed,
    each audited with its old and new value. Issued invoices keep the details they were issued with."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    changes = {}
    for field in CUSTOMER_DETAILS:
        if field in details and details[field] != getattr(customer, field):
            changes[field] = [getattr(customer, field), details[field]]
            setattr(customer, field, details[field])
    if changes:
        customer.save(update_fields=list(changes))
        record(actor, "customer.edited", customer=customer, obj=customer, changes=changes)
    return list(changes)


# What staff may change by hand in the admin: the details above and the two-factor requirement. The plan,
# the status and the support PIN have their own operations (change_plan, suspend/reactivate).
STAFF_EDITABLE = [*CUSTOMER_DETAILS, "require_two_factor"]


@transaction.atomic
def edit_customer_by_staff(*, customer: Customer, values: dict, actor: Actor) -> list[str]:
    """Store a staff member's edit of a customer (fields of `STAFF_EDITABLE` given); returns the fields whose
    stored value really changed, audited as `customer.edited` with each new value as text."""
    stored = Customer.objects.select_for_update().get(pk=customer.pk)
    changed = [
        field for field in STAFF_EDITABLE if field in values and values[field] != getattr(stored, field)
    ]
    for field in changed:
        setattr(customer, field, values[field])
    if changed:
        customer.save(update_fields=changed)
        record(
            actor,
            "customer.edited",
            customer=customer,
            obj=customer,
            changes={field: str(values[field]) for field in changed},
        )
    return changed


@transaction.atomic
def add_customer_by_staff(*, customer: Customer, actor: Actor) -> Customer:
    """Store a customer that staff entered by hand (a sale over the phone; `customer` is unsaved, with its
    plan): its first subscription starts now and the creation is audited. Its owner is added as a member
    afterwards, on the customer's admin page."""
    customer.save()
    Subscription.objects.create(customer=customer, plan=customer.plan, changed_by=actor.user)
    record(
        actor,
        "customer.created",
        customer=customer,
        obj=customer,
        changes={"plan": customer.plan.code, "billing_email": customer.billing_email},
    )
    return customer


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitations_sent_today(customer: Customer) -> int:
    """Invitations of the last 24 hours, the ones replaced by a new one or cancelled since included
    (the audit log keeps them): sending the same address again and again counts every time."""
    since = timezone.now() - timedelta(days=1)
    still_stored = Invitation.objects.filter(customer=customer, created_at__gte=since).count()
    sent = AuditEntry.objects.filter(customer=customer, action="invitation.sent", at__gte=since).count()
    return max(still_stored, sent)


@transaction.atomic
def invite_member(*, customer: Customer, email: str, role: str, actor: Actor) -> Invitation:
    """Store an invitation (only the token's hash) and e-mail the link with the token to `email`.

    The owner gets the same answer whether or not the address already belongs to a user (so the form tells
    nobody who has an account here), and every attempt counts against the daily limit. An address that
    already belongs to a customer account gets an e-mail without a link saying why it cannot join.
    """
    email = email.strip().lower()
    if role not in (Membership.Role.MEMBER, Membership.Role.BILLING):
        raise ValidationError(_("Invite as member or billing contact."))
    if invitations_sent_today(customer) >= INVITATIONS_PER_DAY:
        raise ValidationError(_("You have sent many invitations today. Please try again tomorrow."))
    Invitation.objects.filter(customer=customer, email=email, accepted_at__isnull=True).delete()
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        customer=customer, email=email, role=role, token_hash=_hash_token(token), invited_by=actor.user
    )
    record(actor, "invitation.sent", customer=customer, obj=invitation, changes={"role": role})
    context: dict[str, object] = {"customer": customer, "invitation": invitation, "inviter": actor.user}
    if Membership.objects.filter(user__email__iexact=email).exists():
        template = "panel/email/invitation_already_member"  # the token is never sent: nothing to accept
    else:
        template = "panel/email/invitation"
        context["accept_url"] = site_link("invitation_accept", token)
    transaction.on_commit(lambda: get_adapter().send_mail(template, email, context))
    return invitation


def pending_invitations_for(user: User) -> list[Invitation]:
    """Open invitations addressed to the user's e-mail, to remind a newcomer before they create a customer."""
    since = timezone.now() - INVITATION_VALID_FOR
    return list(
        Invitation.objects.filter(
            email__iexact=user.email, accepted_at__isnull=True, created_at__gte=since
        ).select_related("customer")
    )


def find_invitation(token: str) -> Invitation | None:
    """The open, unexpired invitation for `token`, or None."""
    invitation = (
        Invitation.objects.select_related("customer")
        .filter(token_hash=_hash_token(token), accepted_at__isnull=True)
        .first()
    )
    if invitation is None or invitation.created_at < timezone.now() - INVITATION_VALID_FOR:
        return None
    return invitation


def invitation_refusal(*, invitation: Invitation, user: User) -> str | None:
    """Why `user` cannot accept `invitation` (a message), or None when they can."""
    if not EmailAddress.objects.filter(user=user, email__iexact=invitation.email, verified=True).exists():
        return _("This invitation is for %(email)s. Sign in with that address to accept it.") % {
            "email": invitation.email
        }
    if Membership.objects.filter(user=user).exists():
        return _("You already belong to a customer account.")
    return None


@transaction.atomic
def accept_invitation(*, invitation: Invitation, user: User, actor: Actor) -> Membership:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise ValidationError(_("This invitation has already been used."))
    refusal = invitation_refusal(invitation=invitation, user=user)
    if refusal:
        raise ValidationError(refusal)
    membership = Membership.objects.create(user=user, customer=invitation.customer, role=invitation.role)
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    record(
        actor,
        "member.joined",
        customer=invitation.customer,
        obj=membership,
        changes={"email": user.email, "role": invitation.role},
    )
    return membership


@transaction.atomic
def cancel_invitation(*, invitation: Invitation, actor: Actor) -> None:
    record(actor, "invitation.cancelled", customer=invitation.customer, obj=invitation)
    invitation.delete()


@transaction.atomic
def remove_member(*, membership: Membership, actor: Actor) -> None:
    """Remove a user from the customer. The last owner cannot be removed."""
    customer = Customer.objects.select_for_update().get(pk=membership.customer_id)
    if membership.is_owner and customer.memberships.filter(role=Membership.Role.OWNER).count() <= 1:
        raise ValidationError(_("The last owner cannot be removed. Make someone else owner first."))
    record(
        actor,
        "member.removed",
        customer=customer,
        obj=membership,
        changes={"email": membership.user.email, "role": membership.role},
    )
    membership.delete()


@transaction.atomic
def set_two_factor_requirement(*, customer: Customer, required: bool, actor: Actor) -> None:
    """Turn the customer's two-factor requirement on or off. Whoever turns it on must have it already."""
    if required and actor.user is not None and not user_has_two_factor(actor.user):
        raise ValidationError(_("Set up two-factor authentication for yourself first."))
    customer.require_two_factor = required
    customer.save(update_fields=["require_two_factor"])
    record(
        actor, "two_factor.required" if required else "two_factor.optional", customer=customer, obj=customer
    )


@transaction.atomic
def suspend_customer(*, customer: Customer, reason: str, actor: Actor) -> None:
    if customer.is_suspended:
        return
    customer.status = Customer.Status.SUSPENDED
    customer.suspended_reason = reason[:200]
    customer.suspended_at = timezone.now()
    customer.save(update_fields=["status", "suspended_reason", "suspended_at"])
    record(actor, "customer.suspended", customer=customer, obj=customer, changes={"reason": reason})


@transaction.atomic
def reactivate_customer(*, customer: Customer, actor: Actor) -> None:
    if not customer.is_suspended:
        return
    customer.status = Customer.Status.ACTIVE
    customer.suspended_reason = ""
    customer.suspended_at = None
    customer.save(update_fields=["status", "suspended_reason", "suspended_at"])
    record(actor, "customer.reactivated", customer=customer, obj=customer)


def user_has_two_factor(user: User) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(
        user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
    ).exists()


def members_without_two_factor(customer: Customer) -> list[Membership]:
    """The customer's users who have neither an authenticator app nor a security key."""
    from allauth.mfa.models import Authenticator

    has_authenticator = Authenticator.objects.filter(
        user=OuterRef("user"), type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
    )
    return list(customer.memberships.select_related("user").filter(~Exists(has_authenticator)))


@transaction.atomic
def remove_authenticator_by_staff(*, authenticator, actor: Actor) -> None:
    """Staff remove a user's authenticator (a lost phone); the user sets up a new one at their next sign-in
    when their organisation, or their staff role, requires it. Audited on the user's customer."""
    user = authenticator.user
    membership = Membership.objects.filter(user=user).select_related("customer").first()
    record(
        actor,
        "authenticator.removed_by_staff",
        customer=membership.customer if membership else None,
        obj=authenticator,
        changes={"user": user.email, "type": authenticator.type},
    )
    authenticator.delete()
