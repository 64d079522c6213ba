"""Staff screens: backup health per host (last backup, how long, size, new data, error; "back up now"),
the runs, snapshots, alerts, database dumps, and restores staff start for a customer."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from mailaccounts.models import Mailbox
from tenants.audit import Actor
from tenants.fields import IdChoiceField

from . import services
from .forms import FolderField
from .models import (
    BackupAlert,
    BackupRun,
    DatabaseDump,
    HostBackup,
    HostDoveadm,
    Restore,
    Snapshot,
    SnapshotMailbox,
)
from .tasks import backup_mailhost


@admin.register(HostBackup)
class HostBackupAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "last_backup",
        "last_duration",
        "last_size",
        "last_added",
        "last_status",
        "snapshot_count",
        "alert",
    ]
    actions = ["back_up_now"]
    search_fields = ["name"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def last_run(self, host):
        if not hasattr(host, "_last_run"):
            host._last_run = BackupRun.objects.filter(host=host).first()
        return host._last_run

    @admin.display(description=_("last backup"))
    def last_backup(self, host):
        run = self.last_run(host)
        return run.started_at if run else "—"

    @admin.display(description=_("took"))
    def last_duration(self, host):
        run = self.last_run(host)
        return str(run.duration).split(".")[0] if run and run.duration else "—"

    @admin.display(description=_("size"))
    def last_size(self, host):
        run = self.last_run(host)
        return filesizeformat(run.bytes_total) if run else "—"

    @admin.display(description=_("new data"))
    def last_added(self, host):
        run = self.last_run(host)
        return filesizeformat(run.bytes_added) if run else "—"

    @admin.display(description=_("status"))
    def last_status(self, host):
        run = self.last_run(host)
        if run is None:
            return _("never backed up")
        if run.error:
            return format_html("{}: {}", run.get_status_display(), run.error[:200])
        return run.get_status_display()

    @admin.display(description=_("snapshots"))
    def snapshot_count(self, host):
        return Snapshot.objects.filter(host=host).count()

    @admin.display(description=_("alert"))
    def alert(self, host):
        alert = BackupAlert.objects.filter(host=host, resolved_at__isnull=True).first()
        return (
            format_html('<strong class="alert-text">{}</strong>', alert.get_kind_display()) if alert else ""
        )

    @admin.action(description=_("Back up now"))
    def back_up_now(self, request, queryset):
        for host in queryset:
            backup_mailhost.apply_async(args=[host.pk], queue=host.queue)
        messages.success(
            request, _("Backups queued: %(hosts)s") % {"hosts": ", ".join(h.name for h in queryset)}
        )


@admin.register(BackupRun)
class BackupRunAdmin(admin.ModelAdmin):
    list_display = [
        "host",
        "started_at",
        "finished_at",
        "status",
        "files_new",
        "size",
        "added",
        "short_error",
    ]
    list_filter = ["status", "host"]
    date_hierarchy = "started_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("size"))
    def size(self, run):
        return filesizeformat(run.bytes_total)

    @admin.display(description=_("new data"))
    def added(self, run):
        return filesizeformat(run.bytes_added)

    @admin.display(description=_("error"))
    def short_error(self, run):
        return (run.error or run.warning)[:120]


@admin.register(Snapshot)
class SnapshotAdmin(admin.ModelAdmin):
    list_display = ["host", "taken_at", "snapshot_id"]
    list_filter = ["host"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class StaffRestoreForm(forms.Form):
    mailbox = IdChoiceField(label=_("Restore into"), queryset=Mailbox.objects.none(), empty_label=None)
    folder = FolderField(label=_("Folder (empty: the whole mailbox)"))

    def __init__(self, *args, source=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["mailbox"].queryset = Mailbox.objects.filter(customer_id=source.customer_id).active()
        if source.mailbox_id:
            self.fields["mailbox"].initial = source.mailbox_id


@admin.register(SnapshotMailbox)
class SnapshotMailboxAdmin(admin.ModelAdmin):
    list_display = ["address", "day", "customer", "messages", "size", "restore_link"]
    search_fields = ["address", "customer__name"]
    list_select_related = ["snapshot", "customer"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("backup of"))
    def day(self, row):
        return row.snapshot.taken_at

    @admin.display(description=_("size"))
    def size(self, row):
        return filesizeformat(row.bytes)

    @admin.display(description="")
    def restore_link(self, row):
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:backups_snapshotmailbox_restore", args=[row.pk]),
            _("Restore"),
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/restore/",
                self.admin_site.admin_view(self.restore_view),
                name="backups_snapshotmailbox_restore",
            ),
            *super().get_urls(),
        ]

    def restore_view(self, request, pk):
        """Staff start any restore a customer can: this backup (or one folder) into one of its mailboxes."""
        source = get_object_or_404(SnapshotMailbox.objects.select_related("snapshot", "customer"), pk=pk)
        form = StaffRestoreForm(request.POST or None, source=source)
        if request.method == "POST" and form.is_valid():
            try:
                restore = services.request_restore(
                    actor=Actor.from_request(request),
                    mailbox=form.cleaned_data["mailbox"],
                    source=source,
                    folder=form.cleaned_data["folder"],
                )
            except ValidationError as error:
                for message in error.messages:
                    form.add_error(None, message)
            else:
                messages.success(request, _("Restore queued."))
                return redirect("admin:backups_restore_change", restore.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Restore %(source)s") % {"source": source},
            "form": form,
            "source": source,
            "opts": self.model._meta,
        }
        return render(request, "admin/backups/restore_form.html", context)


class StaffDeletedSearchForm(forms.Form):
    address = forms.EmailField(label=_("Mailbox address"))
    q = forms.CharField(label=_("Search"), required=False, max_length=200)


@admin.register(Restore)
class RestoreAdmin(admin.ModelAdmin):
    change_list_template = "admin/backups/restore/change_list.html"
    list_display = [
        "created_at",
        "customer",
        "source_address",
        "snapshot_day",
        "folder",
        "mailbox",
        "status",
        "messages_done",
        "messages_total",
    ]
    list_filter = ["status"]
    search_fields = ["source_address", "mailbox__local_part", "customer__name"]
    readonly_fields = [f.name for f in Restore._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        view = self.admin_site.admin_view(self.deleted_view)
        return [path("deleted/", view, name="backups_restore_deleted"), *super().get_urls()]

    def deleted_view(self, request):
        """Staff restore recently deleted mail of any mailbox, as its customer can."""
        form = StaffDeletedSearchForm(request.GET or None)
        mailbox, found, problem = None, [], ""
        if form.is_valid():
            local, _at, domain = form.cleaned_data["address"].lower().partition("@")
            mailbox = Mailbox.objects.active().filter(local_part=local, domain__name=domain).first()
            if mailbox is None:
                problem = _("No such mailbox.")
        if mailbox is not None and request.method == "POST":
            try:
                folder = services.restore_deleted_message(
                    actor=Actor.from_request(request),
                    mailbox=mailbox,
                    folder=request.POST.get("folder", ""),
                    guid=request.POST.get("guid", ""),
                )
            except services.NotFound:
                messages.error(request, _("That message is no longer there."))
            except services.DoveadmUnavailable as error:
                messages.error(request, str(error))
            else:
                messages.success(request, _("The message is back in %(folder)s.") % {"folder": folder})
            return redirect(f"{request.path}?{request.GET.urlencode()}")
        if mailbox is not None:
            try:
                found = services.deleted_messages(mailbox=mailbox, search=form.cleaned_data["q"])
            except (ValidationError, services.DoveadmUnavailable) as error:
                problem = str(error)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Recently deleted mail"),
            "form": form,
            "mailbox": mailbox,
            "messages_found": found,
            "problem": problem,
            "opts": self.model._meta,
        }
        return render(request, "admin/backups/deleted.html", context)


@admin.register(BackupAlert)
class BackupAlertAdmin(admin.ModelAdmin):
    list_display = ["kind", "host", "opened_at", "resolved_at", "message"]
    list_filter = ["kind", ("resolved_at", admin.EmptyFieldListFilter)]
    readonly_fields = ["kind", "host", "opened_at", "message"]

    def has_add_permission(self, request):
        return False


@admin.register(DatabaseDump)
class DatabaseDumpAdmin(admin.ModelAdmin):
    list_display = ["started_at", "finished_at", "status", "path", "size", "deleted_at", "error"]
    list_filter = ["status"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(HostDoveadm)
class HostDoveadmAdmin(admin.ModelAdmin):
    list_display = ["host", "url"]
    # An address typed without a scheme stays http://, as the help text shows: the API listens on the
    # host's private address (Django 6 would assume https://).
    formfield_overrides = {models.URLField: {"assume_scheme": "http"}}
