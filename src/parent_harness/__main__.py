"""`python -m parent_harness` is the `harness` command."""

from parent_harness.cli.main import app

app()
