"""`python starter.py CONTRACT.json` (or `-` for standard input): a signed contract starts its onboarding.

`python starter.py serve` runs the same over HTTP for the CRM and the product (intake/app.py).

The use case itself is service/start.py: the contract validated, the segment picked, the
playbook snapshotted, one workflow started with id `onboarding-<account_id>`. A start while
the account's onboarding is open is refused; after one that ended (cancelled, failed,
terminated) the account is onboarded again, and the starter says so.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer

from adapters.config import Settings
from adapters.email.render import available
from cli.shutdown import exit_after
from connection import connect, namespace
from onboarding import playbook
from onboarding.models import Contract
from onboarding.playbook import Playbook
from service.start import AlreadyOnboarding, ContractError, parse_contract, previous_outcome, start


def read_source(arg: str) -> str:
    if arg == "-":
        return sys.stdin.read()
    try:
        return Path(arg).read_text(encoding="utf-8")
    except OSError as e:
        raise ContractError(f"{arg}: cannot read: {e.strerror}") from None
    except UnicodeDecodeError:
        raise ContractError(f"{arg}: not valid UTF-8 text") from None


def load_playbook(path: Path, contract: Contract) -> Playbook:
    """A playbook file instead of the segment's own (a trial edit, a compressed demo), for one start."""
    try:
        plan = playbook.load(path, available())
    except playbook.PlaybookError as e:
        raise ContractError(str(e)) from None
    if plan.segment != contract.picked_segment():
        raise ContractError(
            f"{path}: a playbook for {plan.segment}, but the contract's segment is {contract.picked_segment()}"
        )
    return plan


serve_app = typer.Typer(add_completion=False)
start_app = typer.Typer(add_completion=False)


@serve_app.command()
def serve(
    host: Annotated[str, typer.Option(envvar="INTAKE_HOST", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="INTAKE_PORT", min=1, max=65535, help="Port to listen on.")] = 8000,
) -> None:
    """The HTTP intake: the CRM's contract-signed webhook and product events, signed with
    INTAKE_SECRET (see intake/signing.py). OpenAPI schema at /openapi.json, docs at /docs.
    """
    import uvicorn

    from intake.app import IntakeConfigError, create_app  # imported here: FastAPI only when serving

    try:
        app = create_app()
    except IntakeConfigError as e:
        print(f"cannot serve: {e}", file=sys.stderr)
        raise typer.Exit(2) from None
    asyncio.run(uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="info")).serve())


async def begin(contract: Contract, plan: Playbook | None) -> int:
    client = await connect()
    previous = await previous_outcome(client, contract.workflow_id)
    try:
        handle = await start(client, contract, plan)
    except AlreadyOnboarding as e:
        print(f"{contract.account_id}: {e}", file=sys.stderr)
        return 1
    print(f"started {handle.id} ({contract.picked_segment()})")
    if previous:
        print(f"started again: the previous onboarding ended ({previous})")
    print(Settings.from_env().run_url(handle.id, namespace()))
    return 0


@start_app.command()
def sign(
    contract_file: Annotated[
        str, typer.Argument(metavar="CONTRACT.json", help="The signed contract, or - for standard input.")
    ],
    playbook_file: Annotated[
        Path | None, typer.Option("--playbook", help="Run this playbook file instead of the segment's own.")
    ] = None,
) -> None:
    """A signed contract starts its onboarding. `python starter.py serve` runs the HTTP intake.

    Example: python starter.py contracts/smb.json
    """
    try:
        contract = parse_contract(read_source(contract_file))
        plan = load_playbook(playbook_file, contract) if playbook_file else None
    except ContractError as e:
        print(f"contract refused:\n{e}", file=sys.stderr)
        raise typer.Exit(2) from None
    raise typer.Exit(asyncio.run(begin(contract, plan)))


def main(argv: list[str]) -> int:
    """The exit code of `python starter.py ARGS`: `serve` runs the intake, anything else is a contract."""
    try:
        if argv[:1] == ["serve"]:
            serve_app(argv[1:], prog_name="python starter.py serve")
        else:
            start_app(argv, prog_name="python starter.py")
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return 0


if __name__ == "__main__":
    exit_after(lambda: main(sys.argv[1:]))
