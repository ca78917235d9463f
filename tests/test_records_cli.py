"""`python admin.py staff ...`: the roster with load against capacity, changed from the CLI or a YAML file."""

from __future__ import annotations

from pathlib import Path

import yaml
from sqlmodel import Session, select
from typer.testing import CliRunner, Result

from activities.team import Staffing
from adapters.config import Settings
from adapters.db import Staff, engine
from admin import app
from onboarding.effects import Assignment
from tests.test_assignment import request

PEOPLE = [
    {
        "id": "csm-a",
        "name": "Ana Lima",
        "email": "ana@vendor.example",
        "role": "csm",
        "segments": ["smb"],
        "capacity": 2,
    },
    {
        "id": "mgr-d",
        "name": "Dee",
        "email": "dee@vendor.example",
        "role": "cs_manager",
        "segments": ["smb"],
        "capacity": 50,
    },
]


def staff(*args: str) -> Result:
    return CliRunner().invoke(app, ["staff", *args])


def plain(result: Result) -> str:
    return " ".join(result.output.replace("│", " ").split())


def roster_file(tmp_path: Path, people: list[dict[str, object]]) -> Path:
    path = tmp_path / "roster.yaml"
    path.write_text(yaml.safe_dump({"people": people}))
    return path


def assign(n: int) -> Assignment:
    """Assign SMB onboarding n as the worker would, on the database the environment names (db_url's)."""
    return Staffing(Settings.from_env()).assign_team(request(n, "smb"))


def ids(url: str) -> list[str]:
    with Session(engine(url)) as db:
        return sorted(db.exec(select(Staff.id)).all())


def test_import_then_list_load_against_capacity(db_url: str, tmp_path: Path) -> None:
    assert staff().output == "The roster is empty. Fill it with: python admin.py staff import staff.yaml\n"
    path = roster_file(tmp_path, PEOPLE)
    assert staff("import", str(path)).output == f"imported 2 people from {path}: 2 new, 0 updated\n"
    assert staff("import", str(path)).output == f"imported 2 people from {path}: 0 new, 2 updated\n"

    for n in range(3):
        assign(n)
    listing = staff()
    assert listing.exit_code == 0
    assert listing.output.splitlines() == [
        "ID     ROLE        SEGMENTS  LOAD  NOTE",
        "mgr-d  cs_manager  smb       3/50",
        "csm-a  csm         smb        3/2  OVER CAPACITY",
    ]
    assert "@" not in listing.output and "Ana" not in listing.output  # no contact details in the listing


def test_a_bad_roster_file_imports_nobody_and_names_each_problem(db_url: str, tmp_path: Path) -> None:
    bad = [PEOPLE[0] | {"capacity": 0}, PEOPLE[1] | {"email": "dee at vendor"}, PEOPLE[0]]
    path = roster_file(tmp_path, bad)
    result = staff("import", str(path))
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"{path}: people[0].capacity: Input should be greater than or equal to 1",
        f"{path}: people[1].email: expected an email address like name@company.com",
    ]
    assert ids(db_url) == []
    path.write_text(yaml.safe_dump({"people": [PEOPLE[0], PEOPLE[0]]}))
    assert plain(staff("import", str(path))).endswith("people: each id must appear once; repeated: csm-a")
    missing = staff("import", str(tmp_path / "nope.yaml"))
    assert (missing.exit_code, missing.output) == (
        2,
        f"{tmp_path / 'nope.yaml'}: cannot read: No such file or directory\n",
    )


def test_add_and_change_people(db_url: str, tmp_path: Path) -> None:
    staff("import", str(roster_file(tmp_path, PEOPLE)))
    added = staff(
        "add", "csm-b", "--name", "Bo", "--email", "Bo@Vendor.example", "--role", "csm",
        "--segment", "smb", "--segment", "mid_market", "--capacity", "40",
    )  # fmt: skip
    assert added.output == "added csm-b (csm, smb, mid_market, capacity 40)\n"
    again = staff(
        "add",
        "csm-b",
        "--name",
        "Bo",
        "--email",
        "b@vendor.example",
        "--role",
        "csm",
        "--segment",
        "smb",
        "--capacity",
        "4",
    )
    assert (again.exit_code, plain(again)) == (
        2,
        "id: csm-b is already on the roster; change them with `python admin.py staff set`",
    )
    bad = staff(
        "add", "csm-c", "--name", "", "--email", "c", "--role", "csm", "--segment", "retail", "--capacity", "900"
    )
    assert bad.exit_code == 2
    assert bad.output.splitlines() == [
        "name: String should have at least 1 character",
        "email: expected an email address like name@company.com",
        "segments[0]: Input should be 'smb', 'mid_market' or 'enterprise'",
        "capacity: Input should be less than or equal to 200",
    ]
    assert ids(db_url) == ["csm-a", "csm-b", "mgr-d"]

    # csm-a 0/2 and csm-b 0/40 tie on load: csm-a by id. Take csm-a off new work and csm-b gets it.
    assert staff("set", "csm-a", "--inactive").output == "changed csm-a (csm, smb, capacity 2)\n"
    chosen = assign(1).team
    assert chosen and chosen.csm.id == "csm-b"
    assert (
        staff("set", "csm-b", "--capacity", "1", "--segment", "smb").output == "changed csm-b (csm, smb, capacity 1)\n"
    )
    assert staff().output.splitlines()[1:] == [
        "mgr-d  cs_manager  smb       1/50",
        "csm-a  csm         smb        0/2  inactive",
        "csm-b  csm         smb        1/1  full",
    ]
    with Session(engine(db_url)) as db:
        b = db.get(Staff, "csm-b")
        assert b and (b.email, b.segments) == ("bo@vendor.example", ["smb"])

    unknown = staff("set", "csm-z", "--capacity", "3")
    assert (unknown.exit_code, plain(unknown)) == (
        2,
        "id: nobody with id 'csm-z' on the roster; add them with `python admin.py staff add`",
    )
    wrong = staff("set", "csm-b", "--capacity", "0")
    assert (wrong.exit_code, wrong.output) == (2, "capacity: Input should be greater than or equal to 1\n")
