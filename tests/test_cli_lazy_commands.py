"""A run of `tenderx CMD` imports only CMD's module: a cold `tenderx search` must not pay for
extraction, screening, batch or the desk (issue 26: cold search CPU). Import checks, not timings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import typer.main

from tests.conftest import ROOT

# modules a search never needs; each was imported by every command before the CLI registered lazily
NOT_FOR_SEARCH = ("extractor.cli.batch", "extractor.cli.extract", "extractor.cli.desk", "extractor.cli.cases",
                  "extractor.cli.evaluate", "extractor.pipeline.extract", "extractor.screen",
                  "extractor.screen.match", "rich.progress")


def _modules_after(*args: str) -> set[str]:
    """Run ``main`` with ``args`` in a fresh interpreter; the module names loaded afterwards."""
    probe = ("import sys, json; sys.argv = ['tenderx', *json.loads(sys.argv[1])]\n"
             "from extractor.cli.app import main\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             "print('MODULES ' + json.dumps(sorted(sys.modules)))")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TENDERX_"))}
    res = subprocess.run([sys.executable, "-c", probe, json.dumps(list(args))], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    line = next(x for x in res.stdout.splitlines() if x.startswith("MODULES "))
    return set(json.loads(line.removeprefix("MODULES ")))


def test_search_help_and_a_search_import_nothing_search_does_not_need(tmp_path: Path) -> None:
    helped = _modules_after("search", "--help")
    assert "extractor.cli.search" in helped
    searched = _modules_after("search", "GPU cluster", "--store", str(tmp_path / "none"))  # runs the command body
    assert "extractor.cli.search" in searched
    for loaded in (helped, searched):
        assert not loaded & set(NOT_FOR_SEARCH), sorted(loaded & set(NOT_FOR_SEARCH))


def test_top_level_help_still_loads_every_command() -> None:
    loaded = _modules_after("--help")
    assert {"extractor.cli.batch", "extractor.cli.extract", "extractor.cli.desk"} <= loaded


def test_every_command_is_mapped_to_the_module_that_registers_it() -> None:
    """A command missing from COMMAND_MODULES (or mapped to the wrong module) would be
    "No such command" or lose the lazy import; the full tree and the map must agree."""
    from extractor.cli.app import COMMAND_MODULES, build_app

    full = typer.main.get_command(build_app())
    assert set(getattr(full, "commands", {})) == set(COMMAND_MODULES)
    for name in COMMAND_MODULES:
        alone = typer.main.get_command(build_app(name))
        assert name in getattr(alone, "commands", {}), name
