"""`manage.py mailstack start|stop|status|render-config`: the local mail stack (mailhosts/stack.py).

start   renders deploy/'s templates for loopback ports (MAILSTACK_PORT_BASE, default 20000) under
        MAILSTACK_DIR (default var/mailstack/), points a mail host (the default one unless --host) at the
        stack, applies the panel's data to it and starts Postfix, Dovecot, OpenDKIM and the SMTP sink;
stop    stops them and takes the stack's reload steps off the host again;
status  says what is listening;
render-config --vars deploy/production.vars --out DIR   fills the templates for a production host.
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mailhosts.apply import apply_host
from mailhosts.models import MailHost
from mailhosts.stack import MailStack, StackError, read_vars, render_templates, stack_services


class Command(BaseCommand):
    help = "Run Postfix, Dovecot and OpenDKIM on loopback ports against the panel's rendered files."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["start", "stop", "status", "render-config"])
        parser.add_argument("--host", help="the mail host (name) the stack serves; default: the default host")
        parser.add_argument("--dir", type=Path, default=None, help="stack directory (default MAILSTACK_DIR)")
        parser.add_argument(
            "--port-base", type=int, default=None, help="first port (default MAILSTACK_PORT_BASE)"
        )
        parser.add_argument(
            "--vars", type=Path, help="render-config: a NAME=value file such as deploy/production.vars"
        )
        parser.add_argument("--out", type=Path, help="render-config: where to write the filled templates")

    def handle(self, *args, action, **options):
        if action == "render-config":
            return self.render_config(options)
        stack = MailStack(
            options["dir"] or settings.MAILSTACK_DIR, options["port_base"] or settings.MAILSTACK_PORT_BASE
        )
        try:
            getattr(self, action)(stack, options)
        except StackError as error:
            raise CommandError(str(error)) from error

    def get_host(self, options) -> MailHost:
        if options["host"]:
            try:
                return MailHost.objects.get(name=options["host"])
            except MailHost.DoesNotExist as error:
                raise CommandError(f"no mail host named {options['host']!r}") from error
        return MailHost.objects.default()

    def start(self, stack: MailStack, options) -> None:
        host = self.get_host(options)
        config_dir = Path(host.config_dir)
        stack.prepare(config_dir)
        wanted = stack.host_settings()
        # The maps must exist (and be postmapped) before Postfix starts; the reload steps signal daemons
        # that run only afterwards.
        host.mail_dir, host.postmap_command, host.reload_commands = (
            wanted["mail_dir"],
            wanted["postmap_command"],
            [],
        )
        host.save(update_fields=["mail_dir", "postmap_command", "reload_commands"])
        apply_host(host.pk, force=True)
        stack.start(config_dir)
        host.reload_commands, host.doveadm_command = wanted["reload_commands"], wanted["doveadm_command"]
        host.save(update_fields=["reload_commands", "doveadm_command"])
        for service in stack_services():
            if service.attach:
                service.attach(stack, host)
        self.stdout.write(stack.describe())
        self.stdout.write(f"Serving mail host {host.name!r} (files in {config_dir}).")

    def stop(self, stack: MailStack, options) -> None:
        stack.stop()
        host = self.get_host(options)
        if host.mail_dir == str(stack.mail_dir):
            host.reload_commands = []
            host.doveadm_command = []
            host.save(update_fields=["reload_commands", "doveadm_command"])
        self.stdout.write(f"Mail stack in {stack.directory} stopped.")

    def status(self, stack: MailStack, options) -> None:
        listening = stack.status()
        for name, port in stack.ports.items():
            self.stdout.write(f"{name:12} 127.0.0.1:{port:<6} {'listening' if listening[name] else 'down'}")
        if not all(listening.values()):
            raise CommandError("the mail stack is not (fully) running")

    def render_config(self, options) -> None:
        if not options["vars"] or not options["out"]:
            raise CommandError("render-config needs --vars FILE and --out DIR")
        try:
            written = render_templates(read_vars(options["vars"]), options["out"])
        except StackError as error:
            raise CommandError(str(error)) from error
        for path in written:
            self.stdout.write(str(path))
