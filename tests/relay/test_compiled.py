"""The compiled parser, assembler and `COPY` rows (`relay.compiled`) give exactly what the pure modules give."""

import importlib.util
import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest

from relay.compiled import PURE_ENV, compiled_folder
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
    out = tmp_path / ("pure.txt" if pure else "compiled.txt")
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


@pytest.mark.skipif(
    compiled_folder() is None and not os.environ.get("CI"),
    reason="the parser and assembler are not compiled here (./dev compiles them)",
)
def test_the_compiled_parser_and_assembler_give_what_the_pure_ones_give(tmp_path):
    """On both kinds of benchmark log (shorter) and the test logs, batch by batch as ingest reads them."""
    plain, varied, small = tmp_path / "plain.log", tmp_path / "varied.log", tmp_path / "small.log"
    plain.write_text(
        "".join(
            itertools.islice(
                _bench_module("bench_relaylog", "bench_relaylog.py").LogGenerator(seed=7).lines(150_000),
                150_000,
            )
        )
    )
    maillog = _bench_module("maillog", "maillog.py")
    varied.write_text("".join(maillog.VariedLog(lines=150_000).lines(150_000)))
    small.write_text(
        "\n".join([*(EXPIRED + MIXED + RFC3339_LONG_IDS + YEAR_END).splitlines(), *GARBAGE]) + "\n"
    )

    compiled = _dump(tmp_path, [plain, varied, small], pure=False)
    pure = _dump(tmp_path, [plain, varied, small], pure=True)

    assert compiled[0] == "compiled True True True"
    assert pure[0] == "compiled False False False"
    assert len(compiled) > 50_000  # drafts and rejects, one a line
    for number, (fast, slow) in enumerate(zip(compiled[1:], pure[1:], strict=True), start=2):
        assert fast == slow, f"line {number} of the dumps differs"
