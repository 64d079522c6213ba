"""The tests' twin of the Roundcube plugin's signature lookup (deploy/roundcube/plugins/postbode/signatures.php),
which tests/integration/test_webmail_signature_files.py holds the real PHP to."""

import hashlib
import json
from pathlib import Path

from webmail.rendering import SIGNATURES


def read_signature(root: Path, address: str) -> dict | None:
    """`address`'s signature as the Roundcube plugin finds it below a host's `config_dir`, or None."""
    address = address.lower()
    folder = root / SIGNATURES / address.rpartition("@")[2]
    digest = hashlib.sha256(address.encode()).hexdigest()
    for name in ("all", digest[:1], digest[:2]):
        if (folder / f"{name}.json").exists():
            return json.loads((folder / f"{name}.json").read_text()).get(address)
    return None
