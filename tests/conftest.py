"""The shared cast: an owner and a member of one customer, an outsider of another; plus real-service helpers."""

import gc
import itertools
import os
import re
import shutil
import stat
import uuid
from importlib import import_module
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import login
from django.http import HttpRequest
from django.test import Client as DjangoClient
from django.utils import timezone

from tenants.models import Customer, Membership, Plan, Subscription, User
from tests import database as test_database

IN_CI = os.environ.get("CI", "").lower() == "true"
XDIST_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)


def test_redis_url() -> str:
    """POSTBODE_TEST_REDIS_URL (database 15 by default), one database lower for each further pytest-xdist
    worker, so parallel workers never see each other's keys."""
    base = os.environ.get("POSTBODE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    prefix, _, database = base.rpartition("/")
    return f"{prefix}/{int(database or 0) - XDIST_WORKER}"


test_redis_url.__test__ = False  # a helper, not a test


def test_rspamd_redis_url() -> str:
    """rspamd's Bayes statistics in the mail stack of this worker: on the server of POSTBODE_TEST_REDIS_URL,
    eight databases below the workers' own (7, 6, … by default), so parallel stacks never learn together."""
    prefix, _, database = test_redis_url().rpartition("/")
    return f"{prefix}/{int(database) - 8}"


test_rspamd_redis_url.__test__ = False


# --- the test databases: migrated once per run, copied for each worker (tests/database.py) --------------------


# Python's cyclic garbage collector, with its default thresholds, ran about 3,300 times in each fast-set
# worker, a dozen of them full collections walking every object the process holds (Django, the test modules,
# the collected tests): 4.4 s of each worker's CPU, an eighth of the fast set. It is off while the tests are
# imported and collected (what that makes lives for the whole run), then that is frozen out of its reach and
# it runs a tenth as often: about 1 s a worker (measured in the collector's own CPU time: the default thresholds
# with the freeze took 2.2 s, (50,000, 20, 50) 1.4 s and (200,000, 20, 1,000) 1.8 s, larger young generations
# walking more objects that were about to go anyway). The tests' own garbage is still collected.
GC_THRESHOLDS = (7_000, 20, 20)


gc.disable()  # while the tests are imported and collected (`pytest_collection_finish`): see `GC_THRESHOLDS`


def _xdist_workers(config) -> int:
    return (
        int(getattr(config.option, "numprocesses", 0) or 0) if config.pluginmanager.has_plugin("xdist") else 0
    )


def pytest_configure(config):
    """In the controlling process of a parallel run: start migrating the template database now."""
    gc.set_threshold(*GC_THRESHOLDS)
    if _xdist_workers(config) and not hasattr(config, "workerinput"):
        gc.enable()  # the controller collects no tests
    if hasattr(config, "workerinput") or _xdist_workers(config) == 0 or config.option.reuse_db:
        return
    if not test_database.supported():
        return
    config.option.testrunuid = config.option.testrunuid or uuid.uuid4().hex
    config._postbode_template_builder = test_database.start_building(config.option.testrunuid)


# The fast set's longest tests, longest first (seconds on an idle machine): the page walks, and the compiled
# relay modules' comparison, which waits for two runs of the pure ones in a subprocess. pytest-xdist
# (`--dist worksteal`, pyproject.toml) gives each worker half of the tests in collection order and lets a
# worker that is done take over what is still waiting on the other; a test already started cannot be taken
# over, so a walk collected late could be the last test a worker starts and leave the other idle for its
# whole length. Started first, they run while the many short tests keep the other worker busy, and the short
# ones even out the end.
LONGEST_FIRST = (
    "tests/security/test_hostile_input.py::test_hostile_text_in_every_field_is_never_a_500_and_every_zone_stays_valid",
    "tests/postbode/test_admin_dutch.py::test_every_admin_page_in_dutch_has_no_sentence_of_the_english_page",
    "tests/relay/test_compiled.py::test_the_compiled_parser_and_assembler_give_what_the_pure_ones_give",
    "tests/postbode/test_dutch_pages.py::test_every_customer_page_in_dutch_has_no_sentence_of_the_english_page",
    "tests/security/test_hostile_input.py::test_out_of_range_ids_in_every_choice_field_are_refused_before_the_database",
    "tests/test_translations.py::test_catalogue_has_every_message_makemessages_would_extract",
    "tests/postbode/test_dutch_pages.py::test_main_pages_in_dutch_have_no_known_english_leaks",
)


# Folders each of whose test modules carries the folder's mark on all its tests (`pytestmark`; held to it by
# tests/test_test_run.py). A run whose -m expression leaves out every test with that mark, whatever other marks
# it has, does not import the folder: the fast set imported and collected the 160 tests of tests/integration
# and tests/browser in each worker only to deselect them (0.3 s of each worker's start).
MARKED_FOLDERS = {"integration": "integration", "browser": "browser"}
TESTS_FOLDER = Path(__file__).resolve().parent


def deselects_mark_whatever_else(markexpr: str, mark: str) -> bool:
    """Whether `-m markexpr` deselects every test marked `mark`, whichever of the expression's other marks it
    has (each combination is tried). False when unsure (marks with arguments, an expression pytest refuses)."""
    if not markexpr or re.search(r"\w\s*\(", markexpr):
        return False
    try:
        from _pytest.mark.expression import Expression

        expression = Expression.compile(markexpr)
    except Exception:  # pytest's own parser will say what is wrong with it
        return False
    others = sorted(
        set(re.findall(r"[A-Za-z_][\w.]*", markexpr)) - {"and", "or", "not", "True", "False", mark}
    )
    if len(others) > 8:
        return False
    for chosen in itertools.product((False, True), repeat=len(others)):
        present = {mark, *(name for name, on in zip(others, chosen, strict=True) if on)}
        if expression.evaluate(lambda name, /, **kwargs: name in present):
            return False
    return True


def pytest_ignore_collect(collection_path, config):
    if collection_path.parent != TESTS_FOLDER or collection_path.name not in MARKED_FOLDERS:
        return None
    if deselects_mark_whatever_else(config.option.markexpr, MARKED_FOLDERS[collection_path.name]):
        return True
    return None


def pytest_collection_modifyitems(config, items):
    rank = {nodeid: index for index, nodeid in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid, len(rank)))  # stable: the rest keep their order


def pytest_collection_finish(session):
    """See `GC_THRESHOLDS`: what exists once the tests are collected is kept out of the collector's walks."""
    from tenants.garbage import freeze_for_good

    gc.collect()
    freeze_for_good()
    gc.enable()


def pytest_unconfigure(config):
    if not hasattr(config, "_postbode_template_builder"):
        return  # no template was made for this run
    from pytest_django.plugin import blocking_manager_key

    builder = config._postbode_template_builder
    if builder is not None:  # None: the template was copied in this process (`start_building`)
        builder.wait()
    with config.stash[blocking_manager_key].unblock():
        test_database.drop_template(config.option.testrunuid)


@pytest.fixture(scope="session")
def django_db_setup(
    request,
    django_test_environment,
    django_db_blocker,
    django_db_use_migrations,
    django_db_keepdb,
    django_db_createdb,
    django_db_modify_db_settings,
):
    """pytest-django's set-up, except that a pytest-xdist worker copies the run's migrated template instead
    of running the migrations itself (tests/database.py)."""
    from django.db import connections
    from django.test.utils import setup_databases, teardown_databases
    from pytest_django.fixtures import _disable_migrations, _get_databases_for_setup

    aliases, serialized_aliases = _get_databases_for_setup(request.session.items)
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    reuse = django_db_keepdb and not django_db_createdb
    if (
        run_id
        and django_db_use_migrations
        and not reuse
        and test_database.supported()
        and aliases <= {"default"}
    ):
        connection = connections["default"]
        with django_db_blocker.unblock():
            real_name = connection.settings_dict["NAME"]
            if connection.vendor == "sqlite":
                test_database.sqlite_clone_into_memory(run_id)
            else:
                worker_name = connection.creation._get_test_db_name()
                connection.close()
                test_database.clone_template(run_id, worker_name)
                django_settings.DATABASES["default"]["NAME"] = connection.settings_dict["NAME"] = worker_name
            if "default" in serialized_aliases:
                connection._test_serialized_contents = connection.creation.serialize_db_to_string()
        yield
        with django_db_blocker.unblock():
            connection.creation.destroy_test_db(real_name, verbosity=0)
        return

    if not django_db_use_migrations:
        _disable_migrations()
    with django_db_blocker.unblock():
        db_cfg = setup_databases(
            verbosity=request.config.option.verbose,
            interactive=False,
            aliases=aliases,
            serialized_aliases=serialized_aliases,
            keepdb=reuse,
        )
    yield
    if not django_db_keepdb:
        with django_db_blocker.unblock():
            teardown_databases(db_cfg, verbosity=request.config.option.verbose)


PASSWORD = "Correct-Horse-Battery-9"


def settled(path: Path) -> Path:
    """`path` dated ten seconds back. Every Postfix command reads main.cf through a loader that waits,
    300 ms at a time, while the file looks as if it were still being written (changed within the last
    second or so): a `postmap` or `postconf` run right after a test wrote main.cf waited 1.8 s."""
    past = path.stat().st_mtime - 10
    os.utime(path, (past, past))
    return path


def mark_layout_before(host, layout: str) -> None:
    """The host's folder as an apply of an older layout left it: its layout marker names `layout` instead of
    the present `LAYOUT` (made from the constant, so that the next layout change keeps this an old one)."""
    from mailhosts.apply import LAYOUT, LAYOUT_MARKER

    marker = Path(host.config_dir) / LAYOUT_MARKER
    marker.write_text(marker.read_text().replace(LAYOUT, layout))


def require_service(available: bool, what: str) -> None:
    """A test whose real dependency is missing fails under CI=true, and is skipped on a developer's machine."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true but is not available")
    pytest.skip(f"{what} is not available on this machine")


RSA_KEYS_PER_WORKER = 8


@pytest.fixture(scope="session", autouse=True)
def _rsa_keys_made_once():
    """DKIM keys are RSA 2048 (about a tenth of a second of CPU each, hundreds of them in the fast set): each
    worker makes its first eight for real, through `cryptography` as the panel does, then hands those out in
    turn, so the keys one test makes still differ from each other. Other sizes are made as asked."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    real = rsa.generate_private_key
    made: list = []

    def generate_private_key(public_exponent, key_size, backend=None):
        if (public_exponent, key_size) != (65537, 2048):
            return real(public_exponent=public_exponent, key_size=key_size)
        if len(made) < RSA_KEYS_PER_WORKER:
            made.append(real(public_exponent=public_exponent, key_size=key_size))
            return made[-1]
        made.append(made.pop(0))
        return made[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rsa, "generate_private_key", generate_private_key)
        yield


@pytest.fixture(scope="session", autouse=True)
def _test_client_skips_widget_templates():
    """Django's test client keeps a copy of the context of every template a response renders, so that a test
    can read `response.context`; that includes each form widget's and each <option>'s template, dozens to
    hundreds a page, and copying their contexts was a tenth of the fast set's time. Our tests read the
    contexts of our own templates only: those of Django's widget templates are no longer kept."""
    import django.test.client

    keep = django.test.client.store_rendered_templates

    def store_rendered_templates(store, signal, sender, template, context, **kwargs):
        if not (template.name or "").startswith("django/forms/widgets/"):
            keep(store, signal, sender, template, context, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(django.test.client, "store_rendered_templates", store_rendered_templates)
        yield


@pytest.fixture(scope="session")
def _mailhost_folders(tmp_path_factory):
    """Each test's own mail host folder, not made until its apply makes it. (`tmp_path` for every test
    made a numbered folder, listing the folders of every earlier test to number it: over a second of
    the fast set.)"""
    base = tmp_path_factory.getbasetemp() / "mailhosts"
    return (base / str(number) for number in itertools.count())


@pytest.fixture(autouse=True)
def _fast_and_isolated(request, settings, _mailhost_folders, monkeypatch):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MAILHOST_DEFAULT_CONFIG_DIR = str(next(_mailhost_folders))
    if not request.node.get_closest_marker(
        "integration"
    ):  # the mail stack's tests use its own (one a worker)
        # A backup (the demo makes one in the browser tests) goes to the test's own restic repository, not to
        # var/ beside the developer's demo: two workers' hosts share a name, and restic locks a repository.
        settings.BACKUP_REPOSITORY = settings.MAILHOST_DEFAULT_CONFIG_DIR + "-restic/{host}"
    settings.LANGUAGE_CODE = "en"
    settings.DNS_TIMEOUT = 0.5  # the local DNS server answers at once; a test of a timeout waits no longer
    if not any(request.node.get_closest_marker(mark) for mark in ("integration", "browser")):
        # An apply that changed a passwd-file waits into the next whole second before it counts as live, so
        # that a running Dovecot sees the change (mailhosts.apply.wait_for_dovecot_resync): up to a second
        # each, 32 times in the fast set. No Dovecot reads these files; the real-service tests still wait.
        monkeypatch.setattr("mailhosts.apply.wait_for_dovecot_resync", lambda settle_at: None)
        # Files the apply writes are flushed to the disk before they replace the old ones (and their folder
        # after), so that a crash leaves the old file or the new one: 1,600 fsyncs in the fast set, whose
        # files live in a temporary folder that no crash test reads.
        settings.MAILHOST_FSYNC = False
        # No mail host applies anything in the fast set: a password change from webmail answers at once
        # instead of waiting for the apply (tests/webmail/test_password_api.py tests the wait itself).
        settings.WEBMAIL_PASSWORD_APPLY_WAIT = 0
        # Mailbox passwords are hashed as Dovecot's `doveadm pw` does (SHA512-CRYPT, 5,000 rounds, about 4 ms
        # in passlib's Python): the fast set hashes with the scheme's fewest rounds, as Django's own hashing
        # uses MD5 above. The hashes stay real SHA512-CRYPT with their rounds written in them.
        monkeypatch.setattr("mailaccounts.passwords.SHA512_ROUNDS", 1000)


def make_user(email: str, *, password: str = PASSWORD, verified: bool = True) -> User:
    from allauth.account.models import EmailAddress

    user = User.objects.create_user(email=email, password=password)
    EmailAddress.objects.create(user=user, email=email, verified=verified, primary=True)
    return user


def ensure_seeded_plans() -> None:
    """Put the migration-seeded rows (plans, the site) back after a transactional test flushed the database."""
    from importlib import import_module

    from django.contrib.sites.models import Site

    plans = import_module("tenants.migrations.0002_seed_plans").PLANS
    site = Site.objects.filter(pk=django_settings.SITE_ID)
    if site.exists() and Plan.objects.filter(code__in=[plan["code"] for plan in plans]).count() == len(plans):
        return  # as migrated: one look instead of a get_or_create for each row
    Site.objects.get_or_create(
        pk=django_settings.SITE_ID, defaults={"domain": "example.com", "name": "Postbode"}
    )
    for plan in plans:
        Plan.objects.get_or_create(code=plan["code"], defaults=plan)


def make_customer(name: str, owner: User, *, plan_code: str = "basis") -> Customer:
    try:
        plan = Plan.objects.get(code=plan_code)
    except Plan.DoesNotExist:
        # a transactional test flushed the seeded rows (and the site with them): put them back
        ensure_seeded_plans()
        plan = Plan.objects.get(code=plan_code)
    customer = Customer.objects.create(
        name=name,
        billing_email=owner.email,
        address="Damrak 1",
        postal_code="1012 LG",
        city="Amsterdam",
        plan=plan,
    )
    Subscription.objects.create(customer=customer, plan=plan, started_at=timezone.now())
    Membership.objects.create(user=owner, customer=customer, role=Membership.Role.OWNER)
    return customer


@pytest.fixture
def owner(db):
    return make_user("owner@example.com")


@pytest.fixture
def customer(owner):
    return make_customer("Bakkerij de Vries", owner)


@pytest.fixture
def member(customer):
    user = make_user("member@example.com")
    Membership.objects.create(user=user, customer=customer, role=Membership.Role.MEMBER)
    return user


@pytest.fixture
def outsider(db):
    user = make_user("outsider@example.org")
    make_customer("Concurrent B.V.", user)
    return user


@pytest.fixture
def other_customer(outsider):
    return outsider.membership.customer


STAFF_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture
def staff(db):
    """A staff user as every staff account is (issue 15): with a verified address and two-factor."""
    from allauth.account.models import EmailAddress
    from allauth.mfa.totp.internal.auth import TOTP

    user = User.objects.create_superuser(email="staff@postbode.test", password=PASSWORD)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    TOTP.activate(user, STAFF_TOTP_SECRET)
    return user


class Client(DjangoClient):
    """Django's test client, except that `force_login` without a session yet lets the sign-in make it.

    Django's first asks for the client's session, which saves an empty one and sets its cookie; the sign-in
    then reads it back, saves it under a new key and deletes the empty one: 15 statements (savepoints
    included), 2.2 ms, for each of the about 700 clients the fast tests sign in. Here the sign-in starts from
    an unsaved session, as a browser's first request does: 8 statements, 1.1 ms, the same signals, the same
    session and cookie in the end."""

    def _login(self, user, backend=None):
        if django_settings.SESSION_COOKIE_NAME in self.cookies:
            return super()._login(user, backend)
        request = HttpRequest()
        request.session = import_module(django_settings.SESSION_ENGINE).SessionStore()
        login(request, user, backend)
        request.session.save()
        self._set_login_cookies(request)


@pytest.fixture
def client():
    """pytest-django's `client`, signing in as `Client` above does."""
    return Client()


def _client_for(client_class, user):
    client = client_class()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(client, owner, customer):
    client.force_login(owner)
    return client


@pytest.fixture
def member_client(member):
    return _client_for(Client, member)


@pytest.fixture
def outsider_client(outsider):
    return _client_for(Client, outsider)


@pytest.fixture
def staff_client(staff):
    return _client_for(Client, staff)


@pytest.fixture
def domain(customer):
    """A verified domain of the customer on the default mail host."""
    from mailaccounts.models import Domain
    from mailhosts.models import MailHost

    return Domain.objects.create(
        customer=customer,
        name="bakkerij.example",
        mailhost=MailHost.objects.default(),
        verification_token="token-bakkerij",
        verified_at=timezone.now(),
    )


@pytest.fixture
def other_domain(other_customer):
    from mailaccounts.models import Domain
    from mailhosts.models import MailHost

    return Domain.objects.create(
        customer=other_customer,
        name="concurrent.example",
        mailhost=MailHost.objects.default(),
        verification_token="token-concurrent",
        verified_at=timezone.now(),
    )


@pytest.fixture(scope="session")
def _dns_server_process():
    from tests.dns_server import TestDnsServer

    server = TestDnsServer().start()
    yield server
    server.stop()


@pytest.fixture
def dns_server(_dns_server_process, settings):
    """The local authoritative DNS server; the panel's checks are pointed at it. Each test sets its zone."""
    server = _dns_server_process
    server.set_zone("")
    server.resolver.silent.clear()
    settings.DNS_RESOLVERS = ["127.0.0.1"]
    settings.DNS_PORT = server.port
    return server


@pytest.fixture
def quick_dns_timeout(settings):
    """For a test that waits for a DNS time-out on purpose (a silent name, an answer no resolver can read):
    0.2 s instead of the fast set's 0.5. The local server answers the names it serves within milliseconds,
    so only the silent ones time out; six such tests waited 3 s of the fast set."""
    settings.DNS_TIMEOUT = 0.2


@pytest.fixture
def credential(customer, domain):
    from relay.models import RelayCredential

    credential = RelayCredential.objects.create(
        customer=customer, name="webshop", username="relay-7k2m9q", secret_hash="{SHA512-CRYPT}$6$x$y"
    )
    credential.domains.add(domain)
    return credential


# --- the browser (Playwright driving Debian's headless Chromium against the live test server) -------------
# Here rather than in tests/browser/ so that a real-stack test in tests/integration/ can drive the browser
# too: one Chromium (one Playwright event loop) for the whole session.

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "browser"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    require_service(Path(CHROMIUM).exists() or bool(shutil.which("chromium")), "Chromium (/usr/bin/chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls in the tests stay synchronous.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, settings):
    settings.ALLOWED_HOSTS = ["*"]
    context = browser.new_context(base_url=live_server.url, locale="nl-NL")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test's report says where each of its tabs was (address, title, the start of its text)
    and keeps a screenshot of each in test-artifacts/browser/: a time-out alone does not say what the page
    showed instead."""
    report = yield
    page = item.funcargs.get("page") if report.when == "call" and report.failed else None
    if page is not None:
        report.sections.append(("browser tabs", describe_tabs(page, item.name)))
    return report


def describe_tabs(page, name: str) -> str:
    lines = []
    for number, tab in enumerate(page.context.pages):
        try:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            screenshot = ARTIFACTS / f"failed-{name}-{number}.png"
            tab.screenshot(path=str(screenshot), full_page=True, timeout=5_000)
            text = " ".join(tab.locator("body").inner_text(timeout=5_000).split())
            lines.append(
                f"tab {number}: {tab.url}\n  title: {tab.title()}\n  text: {text[:1500]}\n  {screenshot}"
            )
        # A tab that cannot be read says so; the test's own failure stays what the report is about.
        except Exception as error:
            lines.append(f"tab {number}: {tab.url}: not readable ({error!r})")
    return "\n".join(lines)


@pytest.fixture
def shot(page):
    """shot("name") saves a full-page screenshot of the current page."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture(scope="session", autouse=True)
def _dev_null_stays_a_device():
    """A tool that writes its output by replacing a file (sievec, postmap's temporary files) must never be
    given /dev/null: it becomes a plain file, and every program on the machine that opens it fails."""
    yield
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode), "a test replaced /dev/null by a plain file"
