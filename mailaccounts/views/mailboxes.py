"""Customer pages for mailboxes, aliases, forwarding, autoresponders and per-domain routing.

Thin views: look the object up through its access function (another customer's object is a 404),
validate with a form, call the service, redirect. Service `ValidationError`s go back onto the form.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mailhosts.models import fields_state_ignores
from tenants.access import mail_role_required, owner_required
from tenants.audit import Actor
from tenants.dates import date_formatter
from tenants.services import user_has_two_factor
from tenants.units import SizeLabels

from ..access import (
    get_alias_or_404,
    get_domain_or_404,
    get_mailbox_or_404,
    mailbox_access_required,
    own_mailbox,
    refuse_if_suspended,
)
from ..crypto import seal, unseal
from ..forms import (
    AliasForm,
    AutoresponderForm,
    DomainRoutingForm,
    ForwardingForm,
    MailboxCreateForm,
    MailboxEditForm,
    MailboxPasswordForm,
    OwnPasswordForm,
)
from ..models import Alias, Autoresponder, Domain, Mailbox, MailboxUser
from ..services import aliases, autoresponders, lists, logins, mailboxes, storage

PAGE_SIZE = 50
NEW_PASSWORD_KEY = "mailaccounts.new_password"


def alias_address(alias: Alias) -> str:
    return f"{alias.local_part}@{alias.domain.unicode_name}"


def attach_errors(form, error: ValidationError) -> None:
    """Put a service's ValidationError on the form: on its field when the form has it, else on top."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def remember_new_password(request, mailbox: Mailbox, password: str | None) -> None:
    """Keep a generated password for the next page only, sealed (never in the clear in the session store,
    unreadable after ten minutes); `pop_new_password` forgets it when shown."""
    if password:
        request.session[NEW_PASSWORD_KEY] = {"mailbox": mailbox.pk, "sealed": seal(password)}


def pop_new_password(request, mailbox: Mailbox) -> str | None:
    shown = request.session.get(NEW_PASSWORD_KEY)
    if not shown or shown.get("mailbox") != mailbox.pk:
        return None
    del request.session[NEW_PASSWORD_KEY]
    return unseal(shown.get("sealed", ""))


def paginate(request, queryset):
    """One page of a mailbox or alias list, in two steps: the page's ids, sorted and counted on the table
    alone, then just those rows with their domain and mail host. Sorting thousands of rows without the
    joins is what keeps a deep page of a big customer fast; the query count stays the same."""
    page = Paginator(queryset.values_list("pk", flat=True), PAGE_SIZE).get_page(request.GET.get("page"))
    ids = list(page.object_list)
    rows = (
        queryset.model.objects.select_related("domain__mailhost")
        .defer(*fields_state_ignores("domain__mailhost"))  # a row shows only its live state
        .in_bulk(ids)
    )
    page.object_list = [rows[pk] for pk in ids if pk in rows]
    return page


# Mailboxes ------------------------------------------------------------------------------------------


@mail_role_required
def mailbox_list(request):
    query = request.GET.get("q", "")[:254]
    deleted = request.GET.get("show") == "deleted"
    mailboxes, sort = lists.mailbox_list(
        request.customer, query=query, sort=request.GET.get("sort", "address"), deleted=deleted
    )
    page = paginate(request, mailboxes)
    created, sizes = date_formatter("DATE_FORMAT"), SizeLabels()
    for mailbox in page.object_list:  # formatted here, the format looked up once: a page shows 50 rows
        mailbox.created_label = created(mailbox.created_at)
        mailbox.quota_label, mailbox.used_label = sizes(mailbox.quota_bytes), sizes(mailbox.used_bytes)
    return render(
        request,
        "mailaccounts/mailbox_list.html",
        {
            "page": page,
            "query": query,
            "sort": sort,
            "show_deleted": deleted,
            "pool": storage.pool_summary(request.customer),
            "domains": Domain.objects.for_customer(request.customer).order_by("name").only("pk", "name")[:50],
        },
    )


@mail_role_required
def mailbox_add(request):
    form = MailboxCreateForm(request.POST or None, customer=request.customer)
    if request.method == "POST" and form.is_valid():
        try:
            mailbox, generated = mailboxes.create_mailbox(
                actor=Actor.from_request(request),
                customer=request.customer,
                domain=form.cleaned_data["domain"],
                local_part=form.cleaned_data["local_part"],
                display_name=form.cleaned_data["display_name"],
                quota_bytes=form.cleaned_data["quota_mb"] * storage.MB,
                password=form.chosen_password,
            )
        except ValidationError as error:
            attach_errors(form, error)
        else:
            if own_mailbox(request.user) is not None:  # their own password: this session stays signed in
                request.user.refresh_from_db(fields=["password"])
                update_session_auth_hash(request, request.user)
            remember_new_password(request, mailbox, generated)
            messages.success(
                request, _("Mailbox %(address)s created.") % {"address": mailbox.unicode_address}
            )
            return redirect("mailaccounts:mailbox_detail", pk=mailbox.pk)
    has_domains = form.fields["domain"].queryset.exists()
    return render(
        request,
        "mailaccounts/mailbox_form.html",
        {"form": form, "pool": form.pool, "has_domains": has_domains},
    )


@mailbox_access_required
def mailbox_detail(request, pk):
    mailbox = get_mailbox_or_404(request, pk, include_deleted=True)
    forwarding = ForwardingForm(
        initial={"forward_to": "\n".join(mailbox.forward_to), "keep_copy": mailbox.forward_keep_copy}
    )
    return render_detail(request, mailbox, forwarding, new_password=pop_new_password(request, mailbox))


def render_detail(request, mailbox: Mailbox, forwarding_form, *, new_password: str | None = None):
    autoresponder = Autoresponder.objects.filter(mailbox=mailbox).first()
    if autoresponder is not None:
        autoresponder.mailbox = mailbox  # its live state reads the host already loaded
    response = render(
        request,
        "mailaccounts/mailbox_detail.html",
        {
            "mailbox": mailbox,
            "autoresponder": autoresponder,
            "forwarding_form": forwarding_form,
            "new_password": new_password,
            "restore_deadline": mailboxes.restore_deadline(mailbox),
            "is_own": own_mailbox(request.user) is not None,
            "panel_login": panel_login_context(request, mailbox),
        },
    )
    if new_password:
        # The password is in this response only: no browser or proxy may keep it (the back button included).
        add_never_cache_headers(response)
    return response


def panel_login_context(request, mailbox: Mailbox) -> dict | None:
    """For the owner's "own login" card: is it on, is it in use, with two-factor? None for the mailbox's
    own user (the switch is the owner's)."""
    if own_mailbox(request.user) is not None or request.membership is None:
        return None
    link = MailboxUser.objects.select_related("user").filter(mailbox=mailbox).first()
    return {
        "enabled": mailbox.panel_login_enabled,
        "last_login_at": link.last_login_at if link else None,
        "two_factor": bool(link) and user_has_two_factor(link.user),
        "taken": link is None and logins.address_taken_by_panel_user(mailbox),
        "may_switch": request.membership.is_owner,
        "required_two_factor": mailbox.customer.require_two_factor,
    }


@mail_role_required
def mailbox_edit(request, pk):
    mailbox = get_mailbox_or_404(request, pk)
    form = MailboxEditForm(request.POST or None, mailbox=mailbox)
    if request.method == "POST" and form.is_valid():
        try:
            mailboxes.update_mailbox(
                actor=Actor.from_request(request),
                mailbox=mailbox,
                display_name=form.cleaned_data["display_name"],
                quota_bytes=form.cleaned_data["quota_mb"] * storage.MB,
                is_enabled=form.cleaned_data["is_enabled"],
            )
        except ValidationError as error:
            attach_errors(form, error)
        else:
            messages.success(request, _("Mailbox %(address)s saved.") % {"address": mailbox.unicode_address})
            return redirect("mailaccounts:mailbox_detail", pk=mailbox.pk)
    return render(request, "mailaccounts/mailbox_edit.html", {"form": form, "mailbox": mailbox})


@mailbox_access_required
def mailbox_password(request, pk):
    """Owners and members set a mailbox's password; the mailbox's own user changes theirs after typing
    the current one. The same strength rules, audit and apply either way (set_mailbox_password)."""
    mailbox = get_mailbox_or_404(request, pk)
    own = own_mailbox(request.user) is not None
    form = (OwnPasswordForm if own else MailboxPasswordForm)(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            if own:
                logins.check_current_password(request, mailbox, form.cleaned_data["current_password"])
            generated = mailboxes.set_mailbox_password(
                actor=Actor.from_request(request), mailbox=mailbox, password=form.chosen_password
            )
        except ValidationError as error:
            attach_errors(form, error)
        else:
            if own:  # every other session of theirs ends with the old password; this one stays
                request.user.refresh_from_db(fields=["password"])
                update_session_auth_hash(request, request.user)
            remember_new_password(request, mailbox, generated)
            messages.success(
                request, _("The password of %(address)s was changed.") % {"address": mailbox.unicode_address}
            )
            return redirect("mailaccounts:mailbox_detail", pk=mailbox.pk)
    return render(request, "mailaccounts/mailbox_password.html", {"form": form, "mailbox": mailbox})


@mailbox_access_required
@require_POST
def mailbox_forwarding(request, pk):
    mailbox = get_mailbox_or_404(request, pk)
    form = ForwardingForm(request.POST)
    if form.is_valid():
        try:
            mailboxes.set_forwarding(
                actor=Actor.from_request(request),
                mailbox=mailbox,
                forward_to=form.cleaned_data["forward_to"],
                keep_copy=form.cleaned_data["keep_copy"],
            )
        except ValidationError as error:
            attach_errors(form, error)
        else:
            messages.success(request, _("Forwarding saved."))
            return redirect("mailaccounts:mailbox_detail", pk=mailbox.pk)
    return render_detail(request, mailbox, form)


@mail_role_required
def mailbox_delete(request, pk):
    """GET asks for confirmation; POST deletes (disables at once, restorable for the retention period)."""
    mailbox = get_mailbox_or_404(request, pk)
    if request.method == "POST":
        mailboxes.delete_mailbox(actor=Actor.from_request(request), mailbox=mailbox)
        messages.success(
            request,
            _("Mailbox %(address)s is deleted. You can restore it until %(date)s.")
            % {
                "address": mailbox.unicode_address,
                "date": date_format(mailboxes.restore_deadline(mailbox), "DATE_FORMAT"),
            },
        )
        for domain in mailboxes.domains_routed_to(mailbox):
            messages.warning(
                request,
                _(
                    "Mail for postmaster@, abuse@ or the catch-all of %(domain)s went to this mailbox; choose another."
                )
                % {"domain": domain.unicode_name},
            )
        return redirect("mailaccounts:mailbox_list")
    return render(
        request,
        "mailaccounts/mailbox_confirm_delete.html",
        {
            "mailbox": mailbox,
            "retention_days": settings.MAILBOX_RETENTION_DAYS,
            "routed_domains": mailboxes.domains_routed_to(mailbox),
        },
    )


@mail_role_required
@require_POST
def mailbox_restore(request, pk):
    mailbox = get_mailbox_or_404(request, pk, include_deleted=True)
    try:
        mailboxes.restore_mailbox(actor=Actor.from_request(request), mailbox=mailbox)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect(reverse("mailaccounts:mailbox_list") + "?show=deleted")
    messages.success(request, _("Mailbox %(address)s is restored.") % {"address": mailbox.unicode_address})
    return redirect("mailaccounts:mailbox_detail", pk=mailbox.pk)


@require_POST
@owner_required
def mailbox_panel_login(request, pk):
    """The owner switches the mailbox's own panel login on or off."""
    mailbox = get_mailbox_or_404(request, pk)
    enabled = request.POST.get("enabled") == "1"
    if not refuse_if_suspended(request):
        logins.set_panel_login(actor=Actor.from_request(request), mailbox=mailbox, enabled=enabled)
        if enabled:
            messages.success(
                request,
                _("%(address)s can now sign in to the panel with the mailbox password.")
                % {"address": mailbox.unicode_address},
            )
        else:
            messages.success(
                request,
                _("%(address)s can no longer sign in to the panel; open sessions have ended.")
                % {"address": mailbox.unicode_address},
            )
    return redirect(reverse("mailaccounts:mailbox_detail", args=[mailbox.pk]) + "#panel-login")


# Autoresponder --------------------------------------------------------------------------------------


@mailbox_access_required
def autoresponder(request, pk):
    mailbox = get_mailbox_or_404(request, pk)
    current = Autoresponder.objects.filter(mailbox=mailbox).first()
    initial = (
        {
            "is_enabled": current.is_enabled,
            "subject": current.subject,
            "body": current.body,
            "starts_at": current.starts_at,
            "ends_at": current.ends_at,
            "interval_days": current.interval_days,
        }
        if current
        else {"interval_days": 1, "subject": _("Out of office")}
    )
    form = AutoresponderForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            autoresponders.save_autoresponder(
                actor=Actor.from_request(request), mailbox=mailbox, **form.cleaned_data
            )
        except ValidationError as error:
            attach_errors(form, error)
        else:
            messages.success(request, _("Automatic reply saved."))
            return redirect("mailaccounts:mailbox_detail", pk=mailbox.pk)
    if current is not None:
        current.mailbox = mailbox
    return render(
        request,
        "mailaccounts/autoresponder_form.html",
        {"form": form, "mailbox": mailbox, "autoresponder": current},
    )


# Aliases --------------------------------------------------------------------------------------------


@mail_role_required
def alias_list(request):
    query = request.GET.get("q", "")[:254]
    aliases, sort = lists.alias_list(request.customer, query=query, sort=request.GET.get("sort", "address"))
    return render(
        request,
        "mailaccounts/alias_list.html",
        {"page": paginate(request, aliases), "query": query, "sort": sort},
    )


@mail_role_required
def alias_add(request):
    form = AliasForm(request.POST or None, customer=request.customer)
    if request.method == "POST" and form.is_valid():
        try:
            alias = aliases.create_alias(
                actor=Actor.from_request(request),
                customer=request.customer,
                domain=form.cleaned_data["domain"],
                local_part=form.cleaned_data["local_part"],
                destinations=form.cleaned_data["destinations"],
                is_enabled=form.cleaned_data["is_enabled"],
            )
        except ValidationError as error:
            attach_errors(form, error)
        else:
            messages.success(request, _("Alias %(address)s created.") % {"address": alias_address(alias)})
            return redirect("mailaccounts:alias_list")
    return render(request, "mailaccounts/alias_form.html", {"form": form, "alias": None})


@mail_role_required
def alias_edit(request, pk):
    alias = get_alias_or_404(request, pk)
    form = AliasForm(request.POST or None, customer=request.customer, alias=alias)
    if request.method == "POST" and form.is_valid():
        try:
            aliases.update_alias(
                actor=Actor.from_request(request),
                alias=alias,
                destinations=form.cleaned_data["destinations"],
                is_enabled=form.cleaned_data["is_enabled"],
            )
        except ValidationError as error:
            attach_errors(form, error)
        else:
            messages.success(request, _("Alias %(address)s saved.") % {"address": alias_address(alias)})
            return redirect("mailaccounts:alias_list")
    return render(request, "mailaccounts/alias_form.html", {"form": form, "alias": alias})


@mail_role_required
def alias_delete(request, pk):
    alias = get_alias_or_404(request, pk)
    if request.method == "POST":
        address = alias_address(alias)
        aliases.delete_alias(actor=Actor.from_request(request), alias=alias)
        messages.success(request, _("Alias %(address)s deleted.") % {"address": address})
        return redirect("mailaccounts:alias_list")
    return render(request, "mailaccounts/alias_confirm_delete.html", {"alias": alias})


# Domain routing: postmaster@, abuse@, catch-all -----------------------------------------------------


@owner_required
def domain_routing(request, pk):
    domain = get_domain_or_404(request, pk)
    if not domain.is_verified:
        messages.error(request, _("Verify %(domain)s first.") % {"domain": domain.unicode_name})
        return redirect("mailaccounts:mailbox_list")
    form = DomainRoutingForm(request.POST or None, domain=domain)
    if request.method == "POST" and form.is_valid():
        try:
            aliases.set_domain_routing(
                actor=Actor.from_request(request),
                domain=domain,
                postmaster_to=form.cleaned_data["postmaster_to"],
                abuse_to=form.cleaned_data["abuse_to"],
                catch_all_to=form.cleaned_data["catch_all_to"],
            )
        except ValidationError as error:
            attach_errors(form, error)
        else:
            messages.success(request, _("Routing for %(domain)s saved.") % {"domain": domain.unicode_name})
            return redirect("mailaccounts:domain_routing", pk=domain.pk)
    return render(request, "mailaccounts/domain_routing.html", {"form": form, "domain": domain})
