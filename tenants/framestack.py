"""Python's frame-stack chunks kept for reuse, in every process of the panel where `./dev` could build it.

Since Python 3.11 a thread's frames live in chunks of 16 KiB; a call that does not fit maps a new chunk and
returning from it unmaps that chunk at once. Django's deep call stacks cross such a boundary up and down
all the time: one run of the hostile-input walk (1,086 requests) mapped and unmapped 172,853 chunks, 160 a
request, and every new mapping costs page faults on top of the two system calls. In the fast test set that
was 9 s of the kernel's CPU of 87 s.

`tenants/framestack.c` (`tenants._framestack`) keeps up to 32 freed chunks and hands them out again, through
CPython's documented hook for its arena allocator (see the C source for how it stays correct). `./dev`
builds it into `<virtualenv>/tenants-native/` with a fingerprint of its source and of the Python that built
it (`python -m tenants.framestack --build`); `install()` loads it when that fingerprint matches and does
nothing anywhere else (no compiler, another Python, `POSTBODE_NO_FRAMESTACK=1`): the same program, only
slower.
"""

import hashlib
import importlib.util
import os
import sys
import sysconfig
import tempfile
from pathlib import Path
from types import ModuleType

SOURCE = Path(__file__).resolve().with_suffix(".c")
BUILT_FOLDER = Path(sys.prefix) / "tenants-native"  # beside the virtualenv's packages, made anew with it
MODULE_NAME = "tenants._framestack"
FINGERPRINT_FILE = "FINGERPRINT"
OFF_ENV = "POSTBODE_NO_FRAMESTACK"


def fingerprint() -> str:
    """A hash of the C source and of the Python it is built for."""
    digest = hashlib.sha256(SOURCE.read_bytes())
    digest.update(f"\0{sys.version}\0{sysconfig.get_config_var('EXT_SUFFIX')}".encode())
    return digest.hexdigest()


def built_module_path() -> Path:
    return BUILT_FOLDER / f"_framestack{sysconfig.get_config_var('EXT_SUFFIX')}"


def built() -> bool:
    try:
        stamp = (BUILT_FOLDER / FINGERPRINT_FILE).read_text().strip()
        return stamp == fingerprint() and built_module_path().exists()
    except OSError:  # nothing built, or an installation without the C source: Python's own allocation
        return False


_module: ModuleType | None = None


def load() -> ModuleType | None:
    """The built module from the present source, or None."""
    global _module
    if _module is None and built():
        spec = importlib.util.spec_from_file_location(MODULE_NAME, built_module_path())
        if spec is None or spec.loader is None:
            return None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _module = module
    return _module


def install() -> bool:
    """Keep freed frame-stack chunks in this process from now on; True if it does."""
    if os.environ.get(OFF_ENV):
        return False
    module = load()
    if module is None:
        return False
    module.install()
    return True


def stats() -> dict:
    """installed, chunks reused, chunks mapped since installing, chunks kept now (empty when not built)."""
    module = load()
    return module.stats() if module is not None else {}


def build() -> bool:
    """Compile into a temporary folder, then put the module and its fingerprint in place. True if built."""
    try:
        from setuptools import Extension, setup  # noqa: PLC0415 (only when building: production may lack it)
    except ImportError as error:
        print(
            f"tenants: frame-stack cache not built ({error}); Python's own allocation stays", file=sys.stderr
        )
        return False
    stamp = fingerprint()
    with tempfile.TemporaryDirectory(prefix="tenants-native-") as work:
        cwd = os.getcwd()
        os.chdir(work)  # setuptools reads no project file there
        try:
            setup(
                name="tenants-native",
                ext_modules=[Extension("_framestack", [str(SOURCE)])],
                script_args=["--quiet", "build_ext", "--build-lib", "lib", "--build-temp", "temp"],
            )
        except (SystemExit, Exception) as error:  # a missing compiler ends setuptools with SystemExit
            print(
                f"tenants: frame-stack cache not built ({error!r}); Python's own allocation stays",
                file=sys.stderr,
            )
            return False
        finally:
            os.chdir(cwd)
        BUILT_FOLDER.mkdir(parents=True, exist_ok=True)
        (BUILT_FOLDER / FINGERPRINT_FILE).unlink(missing_ok=True)
        os.replace(Path(work) / "lib" / built_module_path().name, built_module_path())
        (BUILT_FOLDER / FINGERPRINT_FILE).write_text(stamp + "\n")
    return True


def main(argv: list[str]) -> None:
    """`python -m tenants.framestack --build [--force]`: build unless built from the present source."""
    if "--build" not in argv:
        print("usage: python -m tenants.framestack --build [--force]", file=sys.stderr)
        raise SystemExit(2)
    if ("--force" in argv or not built()) and build():
        print(f"tenants: frame-stack cache built into {BUILT_FOLDER}")


if __name__ == "__main__":
    main(sys.argv[1:])
