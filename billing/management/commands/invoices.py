"""python manage.py invoices generate [--month YYYY-MM] | remind | collect | suspend | cancellations

generate:      invoice every customer for a finished month (default: last month). Safe to run twice.
remind:        send the one reminder for each overdue invoice that has not had one.
collect:       start a direct debit for each open invoice of a customer with a mandate (Mollie).
suspend:       suspend customers whose overdue invoice was reminded PAYMENT_GRACE_DAYS ago.
cancellations: stop mail of cancelled accounts past their last paid day; delete data kept long enough.
"""

from datetime import date, datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from billing.cancellation import advance_cancellations
from billing.payments import collect_open_invoices, suspend_unpaid_customers
from billing.services import BillingError, generate_invoices, previous_month, send_overdue_reminders


def parse_month(value: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m").date()
    except ValueError as error:
        raise CommandError(f"--month must look like 2026-10, not {value!r}") from error


class Command(BaseCommand):
    help = "Generate monthly invoices or send overdue reminders."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        generate = actions.add_parser("generate", help="Invoice every customer for a finished month.")
        generate.add_argument("--month", help="YYYY-MM; the month that just ended if left out.")
        actions.add_parser("remind", help="Send reminders for overdue invoices (once per invoice).")
        actions.add_parser(
            "collect", help="Start direct debits for open invoices (customers with a mandate)."
        )
        actions.add_parser("suspend", help="Suspend customers still unpaid after the grace period.")
        actions.add_parser("cancellations", help="Stop mail and delete data of cancelled accounts when due.")

    def handle(self, *args, action, **options):
        if action == "generate":
            self.generate(options.get("month"))
        elif action == "remind":
            count = send_overdue_reminders()
            self.stdout.write(f"Sent {count} overdue reminder(s).")
        elif action == "collect":
            self.stdout.write(f"Started {collect_open_invoices()} direct debit(s).")
        elif action == "suspend":
            self.stdout.write(f"Suspended {suspend_unpaid_customers()} customer(s).")
        else:
            closed, deleted = advance_cancellations()
            self.stdout.write(
                f"Stopped mail of {closed} cancelled account(s); deleted the data of {deleted}."
            )

    def generate(self, month_text: str | None) -> None:
        month = previous_month(timezone.localdate()) if month_text is None else parse_month(month_text)
        try:
            result = generate_invoices(month=month)
        except BillingError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"{month:%Y-%m}: {len(result.created)} invoice(s) issued, "
            f"{result.already_invoiced} customer(s) already invoiced."
        )
