"""Browser tests: headless Chromium through Playwright (the `browser`, `page` and `shot` fixtures are in
tests/conftest.py, shared with the real-stack tests that also drive a browser). Screenshots go to
test-artifacts/browser/ (git-ignored). Under CI=true a missing Chromium fails the test.
"""

import pytest


@pytest.fixture(autouse=True)
def _seeded_plans(transactional_db):
    """Browser tests run on a flushed database (live server, transactional): put the seeded plans back.

    serialized_rollback would do this but is unreliable here: Playwright's event loop makes Django's
    connection context-local, so the serialized copy is not found.
    """
    from tests.conftest import ensure_seeded_plans

    ensure_seeded_plans()
