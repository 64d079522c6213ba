"""The layers of ARCHITECTURE.md hold: imports only point down, checked by import-linter's contract in
pyproject.toml. The contract must also catch a deliberate upward import, or it proves nothing."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
# every app the contract names (a capability added there is copied too)
APPS = tomllib.loads((BASE_DIR / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"]


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).with_name("lint-imports")), "--config", str(root / "pyproject.toml")]
    return subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=120)


def copy_of_the_apps(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(BASE_DIR / "pyproject.toml", root)
    for app in APPS:
        shutil.copytree(
            BASE_DIR / app, root / app, ignore=shutil.ignore_patterns("__pycache__", "migrations")
        )
    return root


def test_the_layers_are_kept(tmp_path):
    result = lint_imports(copy_of_the_apps(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    root = copy_of_the_apps(tmp_path)
    with open(root / "tenants" / "services.py", "a") as services:
        services.write(
            "\nfrom mailaccounts.models import Mailbox  # noqa: E402,F401 - the deliberate mistake\n"
        )
    result = lint_imports(root)
    assert result.returncode != 0
    assert "tenants.services -> mailaccounts.models" in result.stdout


def test_capabilities_of_one_row_do_not_import_each_other(tmp_path):
    root = copy_of_the_apps(tmp_path)
    with open(root / "relay" / "models.py", "a") as models:
        models.write("\nimport billing.models  # noqa: E402,F401 - the deliberate mistake\n")
    result = lint_imports(root)
    assert result.returncode != 0
    assert "relay.models -> billing.models" in result.stdout


def test_architecture_md_names_every_layer_of_the_contract_in_under_a_page():
    """ARCHITECTURE.md stays the one page a newcomer reads first (the detail is in docs/extending.md), and its
    layer picture is the contract's: every app the contract names is in it, in the contract's order."""
    text = (BASE_DIR / "ARCHITECTURE.md").read_text()
    assert len(text.split()) <= 600 and len(text.splitlines()) <= 55
    picture = text.split("```")[1]
    layers = tomllib.loads((BASE_DIR / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    (contract,) = [c for c in layers if c.get("type") == "layers"]
    for layer in contract["layers"]:
        for app in layer.split("|"):
            assert app.strip() in picture, app
    tops = [picture.index(layer.split("|")[0].strip()) for layer in contract["layers"]]
    assert tops == sorted(tops)
    assert (BASE_DIR / "docs" / "extending.md").exists()
