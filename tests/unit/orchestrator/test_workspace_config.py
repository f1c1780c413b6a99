"""[workspace] in harness.toml: defaults, per-agent overrides, and load-time checks on real git."""

from __future__ import annotations

from pathlib import Path

import pytest

from parent_harness.orchestrator import ConfigError, parse_config
from tests.integration.workspaces.repos import make_repo, run_git


def config_with(workspace: dict[str, object], agent: dict[str, object] | None = None) -> dict:
    bot = {"command": "echo -- {prompt}", **(agent or {})}
    return {"agents": {"bot": bot, "other": {"command": "x"}}, "workspace": workspace}


def test_no_table_means_no_workspace(tmp_path: Path) -> None:
    config = parse_config({"agents": {"a": {"command": "x"}}}, tmp_path)
    assert config.workspace is None and config.agents["a"].workspace is None


def test_defaults_are_filled_in_from_the_repository(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "proj")
    run_git(repo, "checkout", "--quiet", "-b", "develop")
    config = parse_config(config_with({"repo": "proj"}), tmp_path)
    ws = config.agents["bot"].workspace
    assert ws is not None and ws.enabled
    assert (ws.repo, ws.base) == (str(repo), "develop")
    assert ws.root == str(tmp_path / ".proj-worktrees")  # beside the repo, not inside it
    assert ws.branch == "harness/{task_id}-{slug}/{attempt}"
    assert ws.auto_commit and ws.cleanup == "on_merge" and ws.ports is None
    assert config.agents["other"].workspace == ws


def test_an_agent_overrides_keys_of_the_table(tmp_path: Path) -> None:
    make_repo(tmp_path / "proj")
    data = config_with(
        {"repo": "proj", "ports": "4000-4099", "setup": ["make deps", ["npm", "ci"]]},
        {"workspace": {"mode": "none"}},
    )
    config = parse_config(data, tmp_path)
    bot, other = config.agents["bot"].workspace, config.agents["other"].workspace
    assert bot is not None and not bot.enabled
    assert other is not None and other.ports == (4000, 4099)
    assert other.setup == (("make", "deps"), ("npm", "ci"))


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"repo": "nowhere"}, "workspace: repo: "),
        ({"repo": "plain"}, "is not a git repository"),
        ({"repo": "proj", "base": "nope"}, "base: 'nope' is not a branch"),
        ({"repo": "proj", "root": "proj/wt"}, "is inside the repository's working copy"),
        ({"repo": "proj", "branch": "h/{title}"}, "unknown placeholder(s) title"),
        ({"repo": "proj", "ports": "9-1"}, "ports"),
        ({"repo": "proj", "copy": ["../secrets"]}, "must be a path inside the repository"),
        ({"repo": "proj", "setup": ["make && make install"]}, "shell syntax"),
        ({"repo": "proj", "cleanup": -1}, "cleanup"),
        ({"mode": "worktree"}, "repo: the repository to make worktrees of"),
        ({"repo": "proj", "colour": "red"}, "Extra inputs are not permitted"),
    ],
)
def test_mistakes_are_named_at_load_time(
    tmp_path: Path, table: dict[str, object], message: str
) -> None:
    make_repo(tmp_path / "proj")
    (tmp_path / "plain").mkdir()
    with pytest.raises(ConfigError) as caught:
        parse_config(config_with(table), tmp_path)
    assert message in str(caught.value)


def test_git_missing_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_repo(tmp_path / "proj")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ConfigError, match="git is not installed"):
        parse_config(config_with({"repo": "proj"}), tmp_path)


def test_mode_none_needs_no_repository(tmp_path: Path) -> None:
    config = parse_config(config_with({"mode": "none"}), tmp_path)
    assert config.workspace is not None and not config.workspace.enabled


def test_base_parent_stacks_and_merges_into_the_current_branch(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "proj")
    run_git(repo, "checkout", "--quiet", "-b", "develop")
    data = config_with({"repo": "proj", "base": "parent"}, {"workspace": {"base": "main"}})
    config = parse_config(data, tmp_path)
    other, bot = config.agents["other"].workspace, config.agents["bot"].workspace
    assert other is not None and (other.stacked, other.base) == (True, "develop")
    assert bot is not None and (bot.stacked, bot.base) == (False, "main")  # its own base wins
