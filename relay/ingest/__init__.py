"""Ingest Postfix log files into the relay log: incrementally, idempotently, in bounded batches.

`ingest_file(path, host=...)`:
1. Loads the file's `IngestState` (inode, byte offset after the last whole line read).
2. If the file's inode changed, the log was rotated: the rest of the old file (found beside it by inode,
   e.g. `maillog.1`) is read first from the stored offset, then the new file from the start. If the file
   shrank under the same inode (copytruncate), it is read from the start.
3. Reads whole lines up to the file's present end in batches (`BATCH_LINES`, and for a long catch-up also
   by size, so each reader gets several). Each batch is assembled in one pass (`assemble_lines`) and
   prepared (`fastpath`): its new messages become `COPY` text, what continues earlier messages is set
   aside. Memory stays flat: only a few batches are ever in flight.
4. Storing: the new messages stream in with `COPY`; the writer then merges the continuing drafts with what
   is stored and moves the offset, batch by batch in order, each in one transaction. For a long catch-up
   two reader processes parse alternate batches and commit their new messages themselves, side by side;
   should the writer's part never commit, re-reading the batch merges those rows as the duplicates they
   are. Either way a crash never loses or doubles anything.

`store_assembly(assembly, directory=...)` is the careful merge: messages are matched to those already
stored (by host, queue id and receipt time, or the latest still-open one with that queue id), new rows go
in with bulk inserts, events and rejects are deduplicated by the hash of their log line (`ignore_conflicts`),
so re-ingesting the same lines adds nothing. The fast path falls back to it whenever its rows conflict.

The package, module by module: `following` (files, rotation, offsets), `lines` (whole lines a batch at a
time), `pipeline` (readers and the writer), `fastpath` (new messages as `COPY` rows), `merge` (the careful
way), `attribution` (whose a message is), `analyze` (planner statistics), `purge` (retention), `result`.
"""

from .following import ingest_file
from .merge import store_assembly
from .pipeline import ingest_lines
from .purge import purge_older_than
from .result import IngestResult

__all__ = ["IngestResult", "ingest_file", "ingest_lines", "purge_older_than", "store_assembly"]
