"""`harness`: every command is there, and a bad option or a missing extra is a message."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from parent_harness.cli.main import HarnessGroup, app, register_commands

runner = CliRunner()


def test_every_command_is_there() -> None:
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    assert {"serve", "tail", "publish", "run", "demo", "task", "notify", "db"} <= set(commands)


@pytest.mark.parametrize("option", ["--token", "--read-token"])
def test_an_empty_token_is_refused_with_a_message(option: str) -> None:
    result = runner.invoke(app, ["serve", "--port", "0", option, ""])
    assert result.exit_code == 2, result.output
    assert "error: a token must not be empty" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output


def test_a_missing_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "asyncpg", None)  # as if not installed
    result = runner.invoke(app, ["db", "upgrade", "--store", "postgresql://u@127.0.0.1:1/db"])
    assert result.exit_code == 2, result.output
    assert "error: this needs the 'cluster' extra" in result.output
    assert "pip install 'parent-harness[cluster]'" in result.output


def _command_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, imports: str
) -> str:
    (tmp_path / f"{name}.py").write_text(
        f"import {imports}\n\n\ndef register(app):\n    app.command('notify')(lambda: None)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_commands_whose_extra_is_missing_say_which(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "aiogram", None)
    module = _command_module(tmp_path, monkeypatch, "cmds_needing_aiogram", "aiogram")
    cli = typer.Typer(cls=HarnessGroup)
    cli.command()(lambda: None)  # a second command, so that `notify` is named
    register_commands(cli, {module: ("notify",)})
    result = runner.invoke(cli, ["notify", "test", "--url", "http://x"])
    assert result.exit_code == 2, result.output
    assert "needs the 'notify' extra" in result.output
    assert "pip install 'parent-harness[notify]'" in result.output


def test_any_other_broken_import_fails_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = _command_module(tmp_path, monkeypatch, "cmds_broken", "no_such_module_of_ours")
    with pytest.raises(ModuleNotFoundError, match="no_such_module_of_ours"):
        register_commands(typer.Typer(cls=HarnessGroup), {module: ("notify",)})


def test_serve_takes_the_output_retention(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from parent_harness.cli import main
    from parent_harness.web.app import build_app
    from parent_harness.web.keys import NODE
    from parent_harness.web.settings import Settings

    seen: list[Settings] = []

    async def serve(settings: Settings) -> None:
        seen.append(settings)

    monkeypatch.setattr(main, "serve_until_stopped", serve)
    monkeypatch.setenv("HARNESS_OUTPUT_KEEP_DAYS", "2")
    store = f"sqlite:///{tmp_path / 'h.db'}"
    result = runner.invoke(app, ["serve", "--port", "0", "--store", store, "--output-keep-mb", "1"])
    assert result.exit_code == 0, result.output
    (settings,) = seen
    assert (settings.output_keep_bytes, settings.output_keep_days) == (1024 * 1024, 2.0)
    retention = build_app(settings)[NODE].store.retention
    assert (retention.max_bytes, retention.max_age_s) == (1024 * 1024, 2 * 86400)
    refused = runner.invoke(app, ["serve", "--port", "0", "--output-keep-mb", "0"])
    assert refused.exit_code == 2 and "output-keep-mb" in refused.output
