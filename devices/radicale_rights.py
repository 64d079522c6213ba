"""Radicale's rights backend on Postbode's mail hosts (`[rights] type = devices.radicale_rights`).

It runs inside Radicale, not Django: it only reads the two files the panel renders (devices/rendering.py).
- The rights file is Radicale's own `from_file` format; it is parsed again whenever it changes, so
  switching a domain's shared calendar on or off takes effect without restarting Radicale (stock
  `from_file` reads it once at start).
- `shared-collections.json` (next to it) names the shared calendars and address books that must exist;
  a background thread creates the missing ones through Radicale's storage, as the Radicale user. Switching
  them off only takes the rights away: the data stays, and comes back when switched on again.
"""

import json
import logging
import os
import threading
import time

from radicale import pathutils, storage
from radicale.rights import from_file

logger = logging.getLogger("radicale")
POLL_SECONDS = 1.0


def file_signature(path: str) -> tuple | None:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


class Rights(from_file.Rights):
    def __init__(self, configuration) -> None:
        self.configuration = configuration
        self._filename = configuration.get("rights", "file")
        self._shared_filename = os.path.join(os.path.dirname(self._filename), "shared-collections.json")
        self._log_rights_rule_doesnt_match_on_debug = False
        self._rights_config = {}
        self._signatures: tuple = (None, None)
        self._storage = storage.load(configuration)
        self._lock = threading.Lock()
        self.refresh()
        threading.Thread(target=self._watch, name="postbode-rights", daemon=True).start()

    def refresh(self) -> None:
        """Re-read what changed since the last look; a broken file keeps the rights it replaced."""
        with self._lock:
            signatures = (file_signature(self._filename), file_signature(self._shared_filename))
            if signatures == self._signatures:
                return
            if signatures[0] != self._signatures[0]:
                self._load_rights(signatures[0])
            self._ensure_shared_collections()
            self._signatures = signatures

    def _load_rights(self, signature) -> None:
        if signature is None:
            logger.warning("rights file %r is missing: nobody is allowed anything", self._filename)
            self._rights_config = {}
            return
        try:
            parsed = from_file.Rights(self.configuration)
        except RuntimeError as error:
            logger.error("keeping the previous rights: %s", error)
            return
        self._rights_config = parsed._rights_config
        self._log_rights_rule_doesnt_match_on_debug = parsed._log_rights_rule_doesnt_match_on_debug
        logger.info("rights loaded from %r: %d sections", self._filename, len(self._rights_config))

    def _ensure_shared_collections(self) -> None:
        try:
            with open(self._shared_filename) as file:
                wanted = json.load(file)
        except FileNotFoundError:
            return
        except ValueError as error:
            logger.error("ignoring %r: %s", self._shared_filename, error)
            return
        for path, props in sorted(wanted.items()):
            self._ensure_collection(pathutils.sanitize_path(f"/{path}/"), props)

    def _ensure_collection(self, path: str, props: dict) -> None:
        with self._storage.acquire_lock("w"):
            if next(iter(self._storage.discover(path, depth="0")), None) is not None:
                return
            parent = path.rstrip("/").rsplit("/", 1)[0] + "/"
            if next(iter(self._storage.discover(parent, depth="0")), None) is None:
                self._storage.create_collection(parent)
            self._storage.create_collection(path, props=props)
            logger.info("created shared collection %r", path)

    def _watch(self) -> None:
        while True:
            time.sleep(POLL_SECONDS)
            try:
                self.refresh()
            except Exception:  # keep watching whatever one look ran into
                logger.exception("refreshing the rights failed")
