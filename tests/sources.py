"""The project's own files, for tests that read every source: without walking into the virtualenv (tens of
thousands of files, which `Path.rglob` listed in full before the tests filtered them out: a second and a
half of the fast set for each such test)."""

import os
from collections.abc import Iterator
from pathlib import Path


def project_files(root: Path, suffixes: tuple[str, ...], *, skip: set[str], anywhere: bool) -> Iterator[Path]:
    """Files under `root` whose names end in one of `suffixes`, in no folder named in `skip`: at the top only,
    or at any depth (`anywhere`)."""
    for folder, folders, files in os.walk(root):
        if anywhere or Path(folder) == root:
            folders[:] = [name for name in folders if name not in skip]
        for name in files:
            if name.endswith(suffixes):
                yield Path(folder) / name
