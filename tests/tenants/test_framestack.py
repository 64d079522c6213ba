"""tenants/framestack.py: Python's freed frame-stack chunks are kept for reuse in every process of the panel."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tenants import framestack
from tests.conftest import require_service

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def needs_build():
    """Skipped where ./dev could not build it; under CI=true that is a failure (`require_service`)."""
    require_service(framestack.built(), "the frame-stack cache (./dev builds it)")


# Calls 300 deep and back, 5,000 times, before and after installing: every descent needs frame-stack chunks
# beyond the thread's first, which Python maps and unmaps again each time unless they are kept. A new mapping
# is page faults, so the process's minor faults count the mappings.
PROBE = """
import resource, sys, threading
from tenants import framestack

def deep(n):
    return deep(n - 1) + 1 if n else 0

def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

def descents():
    start = faults()
    for _ in range(5_000):
        assert deep(300) == 300
    return faults() - start

before = descents()
assert framestack.install()
after = descents()
stats = framestack.stats()

results = []
def worker():
    results.append(sum(deep(250) for _ in range(2_000)))
threads = [threading.Thread(target=worker) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(before, after, stats["reused"], stats["mapped"], results == [500_000] * 8)
"""


def _run(code: str, **env: str) -> str:
    environment = {key: value for key, value in os.environ.items() if key != framestack.OFF_ENV} | env
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_freed_chunks_are_reused_instead_of_mapped_again(needs_build):
    before, after, reused, mapped, threads_right = _run(PROBE).split()
    assert int(before) >= 5_000, "without the cache every descent maps at least one chunk anew"
    assert int(after) < int(before) // 20
    assert int(reused) >= 5_000 and int(mapped) < 100
    assert threads_right == "True", "threads sharing the kept chunks compute what they computed without them"


def test_every_process_of_the_panel_installs_it_and_the_switch_turns_it_off(needs_build):
    probe = "import postbode; from tenants import framestack; print(framestack.stats()['installed'])"
    assert _run(probe) == "True"
    assert _run(probe, **{framestack.OFF_ENV: "1"}) == "False"
    if not os.environ.get(framestack.OFF_ENV):
        assert framestack.stats()["installed"], "the test run itself keeps its chunks"


def test_a_build_from_another_source_is_not_loaded(tmp_path, monkeypatch):
    edited = tmp_path / "framestack.c"
    edited.write_text(framestack.SOURCE.read_text() + "\n/* edited */\n")
    monkeypatch.setattr(framestack, "SOURCE", edited)
    monkeypatch.setattr(framestack, "_module", None)
    assert not framestack.built()
    assert framestack.load() is None
    assert framestack.stats() == {}


def test_an_installation_without_the_c_source_loads_nothing_and_starts(tmp_path, monkeypatch):
    monkeypatch.setattr(framestack, "SOURCE", tmp_path / "missing.c")
    monkeypatch.setattr(framestack, "_module", None)
    assert not framestack.built()
    assert framestack.install() is False
