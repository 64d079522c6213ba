"""`manage.py dns records DOMAIN` and `manage.py dns check DOMAIN`: what the domain's DNS page shows."""

from django.core.management.base import BaseCommand, CommandError

from mailaccounts.dnsrecords import records_for, zone_fragment
from mailaccounts.models import Domain
from mailaccounts.services.dnschecks import check_domain


class Command(BaseCommand):
    help = "Show the DNS records a domain must publish, or check them live."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["records", "check"])
        parser.add_argument("domain", help="domain name (Unicode or punycode)")
        parser.add_argument("--zone", action="store_true", help="records: print as a zone-file fragment")

    def handle(self, *args, action, domain, zone=False, **options):
        found = self.find_domain(domain)
        if action == "records":
            self.print_records(found, zone=zone)
        else:
            self.print_check(found)

    def find_domain(self, name: str) -> Domain:
        try:
            ascii_name = name.strip().rstrip(".").encode("idna").decode("ascii").lower()
        except UnicodeError as error:
            raise CommandError(f"{name!r} is not a valid domain name") from error
        domain = Domain.objects.select_related("mailhost", "customer").filter(name=ascii_name).first()
        if domain is None:
            raise CommandError(f"no domain {ascii_name}")
        return domain

    def print_records(self, domain: Domain, *, zone: bool) -> None:
        if zone:
            self.stdout.write(zone_fragment(domain), ending="")
            return
        for record in records_for(domain):
            self.stdout.write(f"{record.name}  {record.rtype}  TTL {record.ttl}")
            self.stdout.write(f"  value: {record.value}")
            if record.rtype == "TXT":
                self.stdout.write(f"  zone:  {record.zone_line}")
            self.stdout.write(f"  why:   {record.why}")

    def print_check(self, domain: Domain) -> None:
        results = check_domain(domain)
        problems = 0
        for record, result in results:
            style = self.style.SUCCESS if result.status == "ok" else self.style.ERROR
            self.stdout.write(
                f"{style(result.get_status_display().upper()):<12}  {record.name}  {record.rtype}"
            )
            for message in result.problem_messages:
                self.stdout.write(f"  {message}")
            if result.status != "ok" and result.found:
                self.stdout.write("  found:    " + " | ".join(result.found))
                self.stdout.write(f"  expected: {result.expected}")
            problems += result.status != "ok"
        summary = f"{len(results) - problems} of {len(results)} records ok"
        self.stdout.write(self.style.SUCCESS(summary) if not problems else self.style.WARNING(summary))
