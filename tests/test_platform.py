"""Windows and macOS: no POSIX-only module imported unguarded, and the CLI working without them."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, SAMPLES, run_cli

POSIX_ONLY = frozenset({"fcntl", "resource", "termios", "tty", "pty", "pwd", "grp", "posix", "syslog", "crypt",
                        "nis", "spwd", "_posixsubprocess"})
BLOCKER = Path(__file__).parent / "no_posix"


def _guarded(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Inside ``try: … except ImportError`` or an ``if`` on ``sys.platform`` / ``os.name``."""
    child, parent = node, parents.get(node)
    while parent is not None:
        if isinstance(parent, ast.Try) and child in parent.body:
            for handler in parent.handlers:
                names = {n.id for n in ast.walk(handler.type) if isinstance(n, ast.Name)} if handler.type else set()
                if not handler.type or names & {"ImportError", "ModuleNotFoundError", "Exception"}:
                    return True
        if isinstance(parent, ast.If):
            test = ast.unparse(parent.test)
            if "sys.platform" in test or "os.name" in test or "platform.system" in test:
                return True
        child, parent = parent, parents.get(parent)
    return False


def unguarded_posix_imports(source: str, filename: str = "<string>") -> list[str]:
    tree = ast.parse(source, filename)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            if name.split(".")[0] in POSIX_ONLY and not _guarded(node, parents):
                found.append(f"{filename}:{node.lineno}: import {name}")
    return found


def test_the_checker_tells_guarded_from_unguarded_imports():
    assert unguarded_posix_imports("import fcntl\n") == ["<string>:1: import fcntl"]
    assert unguarded_posix_imports("def f():\n    from resource import getrlimit\n")  # still fails when called
    assert not unguarded_posix_imports("try:\n    import resource\nexcept ImportError:\n    resource = None\n")
    assert not unguarded_posix_imports("import sys\nif sys.platform == 'win32':\n    import msvcrt\n"
                                       "else:\n    import fcntl\n")
    assert not unguarded_posix_imports("import os, json\nfrom pathlib import Path\n")


def test_no_module_imports_a_posix_only_module_unguarded():
    found = []
    for path in sorted((ROOT / "extractor").rglob("*.py")):
        found += unguarded_posix_imports(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert not found, "POSIX-only imports without a platform branch or ImportError fallback:\n" + "\n".join(found)


def test_ingest_extract_and_search_run_with_posix_modules_unimportable(tmp_path):
    """The blocker makes fcntl, resource, termios, … unimportable for tenderx's own modules, as on Windows:
    the store (file locks) and the bounded reader (memory limit) must still work."""
    env = {"PYTHONPATH": f"{BLOCKER}{os.pathsep}{ROOT}"}
    probe = run_cli("--version", env=env)
    assert probe.returncode == 0, probe.stderr
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(SAMPLES / "award-amd-mi250-cluster.pdf", docs)
    out = tmp_path / "out.jsonl"
    extract = run_cli("extract", str(docs / "award-amd-mi250-cluster.pdf"), "-o", str(out), env=env)
    assert extract.returncode == 0, extract.stdout + extract.stderr
    record = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert record["fields"], record
    store = tmp_path / "store"
    ingest = run_cli("ingest", str(docs), "--store", str(store), env=env)
    assert ingest.returncode == 0, ingest.stdout + ingest.stderr
    assert (store / ".lock").exists()  # the writer lock was taken through the platform branch
    check = run_cli("store", "check", "--store", str(store), env=env)
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_blocker_blocks_tenderx_imports_only():
    """The blocker is real: code in a tenderx module importing fcntl fails, the standard library's does not."""
    probe = "exec(compile('import fcntl', 'probe', 'exec'), {{'__name__': {name!r}}})"
    env = {"PYTHONPATH": f"{BLOCKER}{os.pathsep}{ROOT}"}
    ours = subprocess.run([sys.executable, "-c", probe.format(name="extractor.store.probe")], env=env,
                          capture_output=True, text=True, timeout=60)
    assert ours.returncode != 0 and "blocked: POSIX-only" in ours.stderr, ours.stderr
    stdlib = subprocess.run([sys.executable, "-c", probe.format(name="shutil")], env=env,
                            capture_output=True, text=True, timeout=60)
    assert stdlib.returncode == 0, stdlib.stderr
