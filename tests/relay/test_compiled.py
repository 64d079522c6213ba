"""The compiled parser, assembler and `COPY` rows (`relay.compiled`) give exactly what the pure modules give."""

import importlib
import importlib.util
import itertools
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from relay.compiled import PURE_ENV, compiled_folder
from relay.parser import _SYSLOG_LINE
from tests.conftest import require_service
from tests.relay.logs import EXPIRED, GARBAGE, MIXED, RFC3339_LONG_IDS, YEAR_END

ROOT = Path(__file__).resolve().parents[2]


def _bench_module(name: str, file: str):
    sys.path.insert(0, str(ROOT / "bench"))  # bench_relaylog imports maillog as the scripts do
    try:
        spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / file)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "bench"))
    return module


def _dump(tmp_path: Path, logs: list[Path], *, pure: bool) -> list[str]:
    """What the pure modules make of `logs`, from a process of their own; what the compiled ones make, from this
    process when it runs them (a second process starting Django cost 0.6 s of CPU), else from a process too."""
    out = tmp_path / ("pure.txt" if pure else "compiled.txt")
    if not pure and not os.environ.get(PURE_ENV):
        from tests.relay import assembly_dump

        assembly_dump.write(str(out), [str(log) for log in logs])
        return out.read_text().splitlines()
    env = {key: value for key, value in os.environ.items() if key != PURE_ENV}
    if pure:
        env[PURE_ENV] = "1"
    subprocess.run(
        [sys.executable, "-m", "tests.relay.assembly_dump", str(out), *map(str, logs)],
        cwd=ROOT,
        env=env,
        check=True,
    )
    return out.read_text().splitlines()


@pytest.fixture
def compiled():
    """Skipped where ./dev could not compile them; under CI=true that is a failure (`require_service`)."""
    require_service(compiled_folder() is not None, "the compiled relay modules (./dev compiles them)")


# Lines of each benchmark log compared in the fast set (the whole 2-million-line logs were compared by hand,
# bench/README.md): the varied generator spreads its kinds of message, deferrals and expiries over any length.
ASSEMBLED_LINES = 15_000


def test_the_compiled_parser_and_assembler_give_what_the_pure_ones_give(tmp_path, compiled):
    """On both kinds of benchmark log (shorter) and the test logs, batch by batch as ingest reads them."""
    plain, varied, small = tmp_path / "plain.log", tmp_path / "varied.log", tmp_path / "small.log"
    plain.write_text(
        "".join(
            itertools.islice(
                _bench_module("bench_relaylog", "bench_relaylog.py")
                .LogGenerator(seed=7)
                .lines(ASSEMBLED_LINES),
                ASSEMBLED_LINES,
            )
        )
    )
    maillog = _bench_module("maillog", "maillog.py")
    varied.write_text("".join(maillog.VariedLog(lines=ASSEMBLED_LINES).lines(ASSEMBLED_LINES)))
    small.write_text(
        "\n".join([*(EXPIRED + MIXED + RFC3339_LONG_IDS + YEAR_END).splitlines(), *GARBAGE]) + "\n"
    )

    compiled = _dump(tmp_path, [plain, varied, small], pure=False)
    pure = _dump(tmp_path, [plain, varied, small], pure=True)

    assert compiled[0] == "compiled True True True"
    assert pure[0] == "compiled False False False"
    assert len(compiled) > 2 * ASSEMBLED_LINES  # drafts and rejects, one a line
    for number, (fast, slow) in enumerate(zip(compiled[1:], pure[1:], strict=True), start=2):
        assert fast == slow, f"line {number} of the dumps differs"


# Characters the line expression turns on: separators, the queue id's alphabets, digits, brackets.
MANGLING = " \t\x0b\x1c\x1f:./[]-+_zZaAeENOQUE019FxX@<>=()é"


def _mangled(lines: list[str], count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    mangled = []
    for _ in range(count):
        line = list(rng.choice(lines))
        for _edit in range(rng.randint(1, 3)):
            at = rng.randrange(len(line) + 1)
            if rng.random() < 0.4 or at == len(line):
                line.insert(at, rng.choice(MANGLING))
            elif rng.random() < 0.5:
                line[at] = rng.choice(MANGLING)
            else:
                del line[at]
        mangled.append("".join(line))
    return mangled


def test_the_line_scanner_in_c_reads_every_line_as_the_line_expression_does(compiled):
    """On both generators' lines, hand-made edge cases and a hundred thousand mangled lines."""
    scanner = importlib.import_module("relay._linescan")
    plain = list(
        itertools.islice(
            _bench_module("bench_relaylog", "bench_relaylog.py").LogGenerator(seed=3).lines(20_000), 20_000
        )
    )
    varied = list(_bench_module("maillog", "maillog.py").VariedLog(lines=20_000, seed=5).lines(20_000))
    lines = [line.rstrip("\n") for line in plain + varied]
    head = "Nov 30 20:15:12 mx1 postfix/smtpd[2101]: "
    edges = [
        head + "ABCDEF: x",
        head + "ABCDE: x",
        head + "0123456789ABCDEF0123: x",
        head + "0123456789ABCDEF01234: x",
        head + "4F3A21C0ABC:x",
        head + "NOQUEUE: reject",
        head + "NOQUEUE:",
        head + "3kTZGk0qd9zBkr6: x",
        head + "3kTZGk0qdzBkr6: x",
        head + "3kTZGk0qd9z: x",
        head + "3kTZGk0qd9zz: x",
        "Nov 30 20:15:12.123456 mx1 postfix/qmgr: 4F3A21C0ABC: removed",
        "Nov 30 20:15:12.1234567 mx1 postfix/qmgr: 4F3A21C0ABC: removed",
        "Nov 30 20:15:12. mx1 postfix/qmgr: 4F3A21C0ABC: removed",
        "Nov  3 20:15:12 mx1 postfix-in/smtpd/x.y[12]: 4F3A21C0ABC: a\nb",
        "Nov 300 20:15:12 mx1 postfix/qmgr: 4F3A21C0ABC: removed",
        "Nov 30 20:15:12 mx1 postfix/qmgr[12: 4F3A21C0ABC: removed",
        "Nov 30 20:15:12 mx1 postfix/qmgr[]: 4F3A21C0ABC: removed",
        "Nov 30 20:15:12 mx1 postfix//qmgr: 4F3A21C0ABC: removed",
        "Nov 30 20:15:12 mx1\tpostfix/qmgr: 4F3A21C0ABC: removed",
        "Nov 30 20:15:12 m\x1cx postfix/qmgr: 4F3A21C0ABC: removed",
        "Nov 30 20:15:12 mx1 postfix/qmgr: 4F3A21C0ABC: réponse",
        "",
        "Nov",
    ]
    for line in [*edges, *lines, *_mangled(lines, 100_000, seed=22)]:
        match = _SYSLOG_LINE.match(line)
        assert scanner.syslog_groups(line) == (None if match is None else match.groups()), repr(line)
