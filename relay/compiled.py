"""The relay log's parser, assembler and `COPY` rows compiled with mypyc, where built from these sources.

Parsing, assembling and rendering rows is most of an ingest's work, a few microseconds a line in Python.
`./dev` compiles `COMPILED_MODULES` into `<virtualenv>/relay-compiled/relay/` (`python -m
relay.build_compiled`) with a fingerprint of their sources; when that fingerprint matches the sources here,
`relay/__init__.py` puts the folder first on the package's path, so `relay.parser`, `relay.assembler` and
`relay.copyrows` are the compiled modules. Anywhere else (no build, an edited source, another Python,
`POSTBODE_PURE_RELAY=1`) the pure modules run: the same code, the same results (`tests/relay/test_compiled.py`
holds the two to it on both kinds of benchmark log).
"""

import hashlib
import os
import sys
from pathlib import Path

COMPILED_MODULES = ("parser", "assembler", "copyrows")
C_EXTENSIONS = ("linescan",)  # relay/linescan.c -> relay._linescan
# Beside the virtualenv's packages: built for its Python, made anew with it.
COMPILED_FOLDER = Path(sys.prefix) / "relay-compiled" / "relay"
FINGERPRINT_FILE = "FINGERPRINT"
PURE_ENV = "POSTBODE_PURE_RELAY"
SOURCE_FOLDER = Path(__file__).resolve().parent


def fingerprint() -> str:
    """A hash of the compiled modules' sources."""
    digest = hashlib.sha256()
    for name in COMPILED_MODULES:
        digest.update(name.encode() + b"\0" + (SOURCE_FOLDER / f"{name}.py").read_bytes())
    for name in C_EXTENSIONS:
        digest.update(name.encode() + b"\0" + (SOURCE_FOLDER / f"{name}.c").read_bytes())
    return digest.hexdigest()


def compiled_folder() -> Path | None:
    """The folder of modules compiled from the present sources, or None (then the pure modules run)."""
    if os.environ.get(PURE_ENV):
        return None
    try:
        built = (COMPILED_FOLDER / FINGERPRINT_FILE).read_text().strip()
    except OSError:
        return None
    return COMPILED_FOLDER if built == fingerprint() else None


def is_compiled(module) -> bool:
    """Whether a module was loaded from its compiled build."""
    return not str(getattr(module, "__file__", "")).endswith(".py")
