def test_dns_server_answers_dnspython(dns_server):
    import dns.resolver

    dns_server.set_zone('example.test. 300 IN TXT "hello"\n')
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = dns_server.port
    answer = resolver.resolve("example.test", "TXT")
    assert [b"".join(r.strings) for r in answer] == [b"hello"]


def test_dashboard_needs_login(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_owner_sees_dashboard(owner_client):
    assert owner_client.get("/").status_code == 200
