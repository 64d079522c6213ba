"""Fewer garbage collections while a batch job makes millions of objects and next to no cycles.

With the collector's default thresholds, each collection of the oldest generation walks everything the
process holds (Django's own objects included). That was a third of the CPU of rendering a whole mail host
(1 s of 2.7 s at 100,000 mailboxes) and, in the relay log's ingesting process, most of its time on a log
with long deferrals. During such a job what the process held before is frozen out of collections, and the
youngest generation is collected a hundredth as often.
"""

import gc
from collections.abc import Iterator
from contextlib import contextmanager

FEWER_COLLECTIONS = (70_000, 20, 100)

# Whether what the process held was frozen for the rest of its life (`freeze_for_good`). Kept here because
# `gc.get_freeze_count()` walks every frozen object to count them: 4 ms for 100,000 objects, once per apply
# (about 2 s of the fast set's CPU, whose run froze Django and every collected test).
_frozen_for_good = False


def freeze_for_good() -> None:
    """What the process holds now is never walked by the collector again (a test run once its tests are
    collected, a reader process of the relay log); `fewer_collections` leaves it frozen."""
    global _frozen_for_good
    gc.freeze()
    _frozen_for_good = True


def collect_less() -> None:
    """For the rest of a process's life (a reader process of the relay log): what it holds now is frozen."""
    freeze_for_good()
    gc.set_threshold(*FEWER_COLLECTIONS)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """For the length of a job: the thresholds and the held objects are restored after (objects frozen for
    good stay frozen)."""
    thresholds = gc.get_threshold()
    ours = not _frozen_for_good
    if ours:
        gc.freeze()
    gc.set_threshold(*FEWER_COLLECTIONS)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if ours:
            gc.unfreeze()
