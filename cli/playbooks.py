"""`admin.py playbook validate [FILE]`: the same checks the engine runs when it loads a playbook."""

from __future__ import annotations

from pathlib import Path

import typer

from adapters.email.render import available
from cli import rollout
from cli.common import fail
from onboarding import playbook, variants
from reports.words import plural

app = typer.Typer(help="Check the playbooks CS ops edit, and roll a new version out.", no_args_is_help=True)
app.command()(rollout.rollout)


@app.command()
def validate(
    files: list[Path] = typer.Argument(None, help="Playbook YAML files; default: every file in playbooks/"),  # noqa: B008
) -> None:
    """Validate playbooks: unknown keys, bad durations, facts, conditions, missing steps, templates or
    translations, phases that never end; warn when two touches can reach one person at one moment.

    Example: python admin.py playbook validate playbooks/smb.yaml
    """
    paths = files or sorted(playbook.PLAYBOOK_DIR.glob("*.yaml"))
    errors = []
    for path in paths:
        try:
            pb = playbook.load(path, available())
            variants.snapshots(pb, path.parent, available())
        except playbook.PlaybookError as e:
            errors.append(str(e))
            continue
        timers = plural(sum(1 for _ in pb.all_timers()), "timer")
        typer.echo(f"{path}: ok ({pb.title}, {plural(len(pb.phases), 'phase')}, {timers})")
        for warning in playbook.collisions(pb):
            typer.echo(f"{path}: warning: {warning}", err=True)
    if errors:
        fail("\n".join(errors), code=2)
