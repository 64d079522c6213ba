"""`relaypolicy --listen 127.0.0.1:PORT`: run the sending-limit policy server for Postfix."""

from django.core.management.base import BaseCommand, CommandError

from relay.policy import PolicyServer, SendingLimits, redis_client


def _address(text: str) -> tuple[str, int]:
    host, _sep, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise CommandError(f"--listen wants HOST:PORT, not {text!r}")
    return host.strip("[]"), int(port)


class Command(BaseCommand):
    help = "Run the Postfix policy service that enforces the hourly sending limits (check_policy_service)."

    def add_arguments(self, parser):
        parser.add_argument("--listen", default="127.0.0.1:10040", metavar="HOST:PORT")
        parser.add_argument("--redis", metavar="URL", help="Redis for the counters (default: settings)")

    def handle(self, *args, **options):
        address = _address(options["listen"])
        server = PolicyServer(address, SendingLimits(redis_client(options["redis"])))
        self.stdout.write(f"relay policy service listening on {address[0]}:{server.server_address[1]}")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
