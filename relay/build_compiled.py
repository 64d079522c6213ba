"""Compile the relay log's parser, assembler and `COPY` rows with mypyc (`./dev` runs this): `relay.compiled`.

    python -m relay.build_compiled          # build unless the present sources are built already
    python -m relay.build_compiled --force

Without a C compiler or mypy (production without the dev extras) it says so and leaves the pure modules
in use; the exit status is 0 either way, as the pure modules are complete.
"""

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from relay.compiled import (
    C_EXTENSIONS,
    COMPILED_FOLDER,
    COMPILED_MODULES,
    FINGERPRINT_FILE,
    SOURCE_FOLDER,
    fingerprint,
)

# The shared library of the compiled modules, inside the package: `relay.native__mypyc`.
GROUP_NAME = "relay.native"


def built_already() -> bool:
    try:
        return (COMPILED_FOLDER / FINGERPRINT_FILE).read_text().strip() == fingerprint()
    except OSError:
        return False


def build() -> bool:
    """Compile into a temporary folder, then replace the compiled folder with it. True if built."""
    try:
        from mypyc.build import mypycify  # noqa: PLC0415 (dev extras only: production may lack mypy)
        from setuptools import Extension, setup  # noqa: PLC0415
    except ImportError as error:
        print(f"relay: not compiled ({error}); the pure modules run", file=sys.stderr)
        return False
    root = SOURCE_FOLDER.parent
    stamp = fingerprint()
    with tempfile.TemporaryDirectory(prefix="relay-compiled-") as work:
        paths = [str(Path("relay") / f"{name}.py") for name in COMPILED_MODULES]
        cwd = os.getcwd()
        os.chdir(root)
        try:
            extensions = mypycify(
                [*paths, "--cache-dir", str(Path(work) / "mypy-cache")],
                group_name=GROUP_NAME,
                target_dir=str(Path(work) / "c"),
            )
            os.chdir(work)  # setuptools reads no project file there
            setup(
                name="relay-compiled",
                ext_modules=[
                    *extensions,
                    *(
                        Extension(f"relay._{name}", [str(SOURCE_FOLDER / f"{name}.c")])
                        for name in C_EXTENSIONS
                    ),
                ],
                script_args=[
                    "--quiet",
                    "build_ext",
                    "--build-lib",
                    str(Path(work) / "lib"),
                    "--build-temp",
                    str(Path(work) / "temp"),
                ],
            )
        except (SystemExit, Exception) as error:  # a missing compiler ends setuptools with SystemExit
            print(f"relay: not compiled ({error!r}); the pure modules run", file=sys.stderr)
            return False
        finally:
            os.chdir(cwd)
        built = Path(work) / "lib" / "relay"
        (built / FINGERPRINT_FILE).write_text(stamp + "\n")
        if COMPILED_FOLDER.exists():
            shutil.rmtree(COMPILED_FOLDER)
        COMPILED_FOLDER.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(built, COMPILED_FOLDER)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="build even if built from these sources")
    args = parser.parse_args()
    if args.force or not built_already():
        if build():
            print(f"relay: {', '.join(COMPILED_MODULES)} compiled into {COMPILED_FOLDER}")


if __name__ == "__main__":
    main()
