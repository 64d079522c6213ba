"""tenants/garbage.py: a batch job collects less, and puts back what it found."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc
from tenants import garbage

held = [[] for _ in range(1000)]
thresholds = gc.get_threshold()
with garbage.fewer_collections():
    assert gc.get_threshold() == garbage.FEWER_COLLECTIONS
    assert gc.get_freeze_count() >= 1000  # what the process held is out of the collector's walks
assert gc.get_threshold() == thresholds
assert gc.get_freeze_count() == 0, "a job's own freeze is undone after it"

garbage.freeze_for_good()
frozen = gc.get_freeze_count()
with garbage.fewer_collections():
    made = [[] for _ in range(1000)]
assert gc.get_freeze_count() == frozen, "what was frozen for good stays frozen, and nothing more is"

garbage.collect_less()
assert gc.get_threshold() == garbage.FEWER_COLLECTIONS
print("ok")
"""


def test_a_job_freezes_and_unfreezes_only_what_it_froze_itself():
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "ok", result.stderr
