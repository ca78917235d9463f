"""`python starter.py CONTRACT.json` (or `-` for standard input): a signed contract starts its onboarding.

`python starter.py serve` runs the same over HTTP for the CRM and the product (intake/app.py).

The use case itself is service/start.py: the contract validated, the segment picked, the
playbook snapshotted, one workflow started with id `onboarding-<account_id>`. A start while
the account's onboarding is open is refused; after one that ended (cancelled, failed,
terminated) the account is onboarded again, and the starter says so.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

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


async def serve(argv: list[str]) -> int:
    """`python starter.py serve`: the HTTP intake for the CRM and the product (intake/app.py)."""
    import uvicorn

    from intake.app import IntakeConfigError, create_app  # imported here: FastAPI only when serving

    parser = argparse.ArgumentParser(
        prog="python starter.py serve",
        description="The HTTP intake: the CRM's contract-signed webhook and product events, signed with"
        " INTAKE_SECRET (see intake/signing.py). OpenAPI schema at /openapi.json, docs at /docs.",
    )
    parser.add_argument("--host", default=os.environ.get("INTAKE_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("INTAKE_PORT", "8000")))
    args = parser.parse_args(argv)
    try:
        app = create_app()
    except IntakeConfigError as e:
        print(f"cannot serve: {e}", file=sys.stderr)
        return 2
    await uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port, log_level="info")).serve()
    return 0


async def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"]:
        return await serve(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python starter.py",
        description="A signed contract starts its onboarding. `python starter.py serve` runs the HTTP intake.",
    )
    parser.add_argument("contract", metavar="CONTRACT.json", help="the signed contract, or - for standard input")
    parser.add_argument("--playbook", type=Path, help="run this playbook file instead of the segment's own")
    args = parser.parse_args(argv)
    try:
        contract = parse_contract(read_source(args.contract))
        plan = load_playbook(args.playbook, contract) if args.playbook else None
    except ContractError as e:
        print(f"contract refused:\n{e}", file=sys.stderr)
        return 2
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


if __name__ == "__main__":
    exit_after(lambda: asyncio.run(main(sys.argv[1:])))
