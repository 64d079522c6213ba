"""A small authoritative DNS server on 127.0.0.1 for tests, serving zones the test writes.

It answers real UDP and TCP queries from dnspython, like a server on the internet would. Names listed in
`silent` get no answer at all (a timeout); names not in any zone get NXDOMAIN.
"""

import threading

from dnslib import QTYPE, RCODE, RD, RR, DNSLabel, DNSRecord
from dnslib.server import BaseResolver, DNSServer


class ZoneResolver(BaseResolver):
    def __init__(self):
        self.records: list[RR] = []
        self.silent: set[str] = set()
        self.lock = threading.Lock()

    def set_zone(self, text: str) -> None:
        with self.lock:
            self.records = list(RR.fromZone(text))

    def add_zone(self, text: str) -> None:
        with self.lock:
            self.records.extend(RR.fromZone(text))

    def add_raw(self, name: str, rtype: str, rdata: bytes) -> None:
        """A record whose RDATA is exactly these bytes, valid or not (for hostile-answer tests)."""
        with self.lock:
            self.records.append(RR(DNSLabel(name), rtype=getattr(QTYPE, rtype), ttl=60, rdata=RD(rdata)))

    def resolve(self, request: DNSRecord, handler):
        qname = request.q.qname
        qtype = QTYPE[request.q.qtype]
        reply = request.reply()
        name = str(qname).rstrip(".").lower()
        with self.lock:
            if name in self.silent:
                return None
            matching = [rr for rr in self.records if str(rr.rname).rstrip(".").lower() == name]
        for rr in matching:
            if qtype == "ANY" or QTYPE[rr.rtype] == qtype or QTYPE[rr.rtype] == "CNAME":
                reply.add_answer(rr)
        if not matching:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


class TestDnsServer:
    def __init__(self):
        self.resolver = ZoneResolver()
        # UDP and TCP on one port: the system picks a free UDP port, which TCP may already use (a mail
        # stack's daemon, another test worker's connection); then pick again.
        for _attempt in range(20):
            self.udp = DNSServer(self.resolver, address="127.0.0.1", port=0, tcp=False)
            self.port = self.udp.server.server_address[1]
            try:
                self.tcp = DNSServer(self.resolver, address="127.0.0.1", port=self.port, tcp=True)
                break
            except OSError:
                self.udp.server.server_close()
        else:
            raise OSError(f"no port free for both UDP and TCP after {_attempt + 1} tries")

    # How often the serving threads look whether they are to stop: `socketserver`'s default of half a second
    # held up the end of every test worker's run by up to a second (UDP, then TCP).
    POLL_INTERVAL = 0.02

    def start(self) -> "TestDnsServer":
        for server in (self.udp, self.tcp):
            server.thread = threading.Thread(
                target=server.server.serve_forever, kwargs={"poll_interval": self.POLL_INTERVAL}, daemon=True
            )
            server.thread.start()
        return self

    def stop(self) -> None:
        self.udp.stop()
        self.tcp.stop()

    def set_zone(self, text: str) -> None:
        self.resolver.set_zone(text)

    def add_zone(self, text: str) -> None:
        self.resolver.add_zone(text)

    def add_raw(self, name: str, rtype: str, rdata: bytes) -> None:
        self.resolver.add_raw(name, rtype, rdata)

    def silence(self, name: str) -> None:
        self.resolver.silent.add(name.rstrip(".").lower())
