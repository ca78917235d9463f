"""Scenario files: a customer's journey as dated actions, validated before anything runs.

A scenario is YAML (or JSON, which YAML reads too):

    segment: smb                      # optional; --segment or the playbook's segment otherwise
    days: 40                          # optional; how long to run (--days wins; default: length + 30)
    contract: {...}                   # optional; the segment's example contract (contracts/) otherwise
    actions:
      - {day: 0.5, action: log_touch, args: {touch: personal_welcome}}
      - {day: 2, action: first_login}
      - {day: 3, action: module_completed, args: {module: quick_start}}
      - {day: 9, action: metric, args: {metric: qualified_leads, value: 12}}
      - {day: 9, action: schedule_kickoff, args: {at: 10}}   # `at` and `until`: day numbers
    expect:                           # optional: what the timeline must show (see simulator.expect)
      timeline:
        - [0, email, welcome, champion]

Every problem is reported at once, each naming the file, the line and the entry:
`journey.yaml:7: actions[2].action: unknown action 'frist_login'; expected one of ...`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from onboarding.messages import BY_NAME, EVENT_NAMES, Action, ProductEvent
from onboarding.models import Contract, Segment, field_path, problems
from simulator.timeline import Kind

CONTRACTS = Path(__file__).resolve().parent.parent / "contracts"

# CSM actions: the catalogue's updates, by name, with the message each one takes.
UPDATES: dict[str, type[Action]] = {
    name: kind.model  # type: ignore[misc]  # every update's model is an Action
    for name, kind in BY_NAME.items()
    if kind.via == "update"
}
# Product events: the workflow's `product_event` signal; (arguments taken, arguments required).
EVENT_ARGS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    name: (frozenset(), frozenset()) for name in EVENT_NAMES if name != "email_engaged"
} | {
    "key_action": (frozenset({"name"}), frozenset({"name"})),
    "survey_answer": (frozenset({"csat", "ces", "nps", "goal_reached"}), frozenset({"goal_reached"})),
    "metric": (frozenset({"metric", "value", "user"}), frozenset({"metric", "value"})),
}
DATED = {"until", "at"}
"""Arguments given as a day number in a scenario (`pause.until: 12`), made dates when sent."""
ACTIONS: tuple[str, ...] = (*EVENT_ARGS, *UPDATES)

Message = ProductEvent | Action


class ScenarioError(ValueError):
    """A scenario that cannot run; one line per problem, each naming the file, line and entry."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


Day = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]


class Expected(_Strict):
    """One timeline line the scenario expects: `[day, kind, name, to]` (`to` may be left out)."""

    day: Day
    kind: Kind
    name: str = Field(min_length=1)
    to: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, value: Any) -> Any:
        if isinstance(value, list):
            if len(value) not in (3, 4):
                raise ValueError("expected [day, kind, name, to] (to may be left out)")
            return dict(zip(("day", "kind", "name", "to"), value, strict=False))
        return value

    def key(self) -> tuple[float, str, str, str | None]:
        return (round(self.day, 2), self.kind, self.name, self.to)


class Expect(_Strict):
    """What the run must show. The timeline is compared for the kinds it names (or `kinds`)."""

    outcome: Literal["completed", "cancelled", "active"] | None = None
    days_to_first_value: Day | None = None
    kinds: list[Kind] | None = None
    timeline: list[Expected] = []

    def compared_kinds(self) -> set[str]:
        return set(self.kinds) if self.kinds is not None else {e.kind for e in self.timeline}


class _Entry(_Strict):
    day: Day
    action: str
    args: dict[str, Any] = {}


class _File(_Strict):
    segment: Segment | None = None
    days: Annotated[float, Field(strict=True, gt=0, allow_inf_nan=False)] | None = None
    contract: dict[str, Any] | None = None
    actions: list[_Entry] = []
    expect: Expect | None = None


@dataclass(frozen=True)
class Step:
    """One dated action of the scenario, already validated."""

    index: int
    day: float
    action: str
    args: dict[str, Any]
    line: int | None

    @property
    def where(self) -> str:
        return f"actions[{self.index}]" + (f" (line {self.line})" if self.line else "")

    @property
    def is_event(self) -> bool:
        return self.action in EVENT_ARGS

    def message(self, signed_at: datetime) -> Message:
        """The signal or update payload; `pause.until` is a day number, made a date here."""
        if self.is_event:
            args = dict(self.args)
            if "name" in args:
                args["action"] = args.pop("name")
            return ProductEvent.model_validate({"name": self.action, **args})
        args = dict(self.args)
        for name in DATED & args.keys():
            if isinstance(args[name], int | float):
                args[name] = signed_at + timedelta(days=args[name])
        return UPDATES[self.action].model_validate(args)


@dataclass(frozen=True)
class Scenario:
    name: str
    segment: Segment | None = None
    days: float | None = None
    contract: dict[str, Any] | None = None
    steps: tuple[Step, ...] = ()
    expect: Expect | None = None
    source: str = field(default="", compare=False)

    def contract_data(self, segment: Segment) -> dict[str, Any]:
        return self.contract if self.contract is not None else example_contract(segment)

    def check_days(self, days: float) -> None:
        """Every action must fall within the run."""
        late = [
            f"{self.source}: {s.where}: day {s.day:g} is after the end of the run (day {days:g})"
            for s in self.steps
            if s.day > days
        ]
        if late:
            raise ScenarioError("\n".join([*late, "raise --days or move the actions earlier"]))


SILENT = Scenario(name="silent customer", source="(no scenario)")


def example_contract(segment: Segment) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CONTRACTS / f"{segment}.json").read_text(encoding="utf-8"))
    return data


def load(path: Path) -> Scenario:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ScenarioError(f"{path}: cannot read: {e.strerror}") from None
    return parse(text, str(path), name=path.stem)


def parse(text: str, source: str, name: str = "scenario") -> Scenario:
    """Validate a scenario document (strict JSON when `source` ends in .json); every problem reported with its line."""
    if source.endswith(".json"):
        try:
            json.loads(text)
        except json.JSONDecodeError as e:
            raise ScenarioError(f"{source}:{e.lineno}:{e.colno}: does not parse as JSON: {e.msg}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise ScenarioError(f"{where}: does not parse as YAML or JSON: {e.problem or e.context}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}:1: expected a mapping with actions (and optionally segment, contract, expect)")

    def report(loc: tuple[int | str, ...], msg: str) -> str:
        line = _line(node, loc)
        return f"{source}:{line}: {field_path(loc)}: {msg}" if line else f"{source}: {field_path(loc)}: {msg}"

    try:
        parsed = _File.model_validate(data)
    except ValidationError as e:
        raise ScenarioError("\n".join(report(err["loc"], _msg(err["msg"])) for err in e.errors())) from None
    found: list[str] = []
    for i, entry in enumerate(parsed.actions):
        found += [report(("actions", i, *loc), msg) for loc, msg in _check_action(entry)]
    if parsed.contract is not None:
        found += [report(("contract", *loc), msg) for loc, msg in _check_contract(parsed.contract)]
    if found:
        raise ScenarioError("\n".join(found))
    steps = [
        Step(index=i, day=a.day, action=a.action, args=a.args, line=_line(node, ("actions", i)))
        for i, a in enumerate(parsed.actions)
    ]
    return Scenario(
        name=name,
        segment=parsed.segment,
        days=parsed.days,
        contract=parsed.contract,
        steps=tuple(sorted(steps, key=lambda s: s.day)),
        expect=parsed.expect,
        source=source,
    )


def _msg(msg: str) -> str:
    return msg.removeprefix("Value error, ")


def _check_action(entry: _Entry) -> list[tuple[tuple[int | str, ...], str]]:
    """Problems with one action's name and arguments, as (location, message)."""
    action, args = entry.action, entry.args
    if action not in ACTIONS:
        return [(("action",), f"unknown action {action!r}; expected one of: {', '.join(ACTIONS)}")]
    if action in EVENT_ARGS:
        takes, needs = EVENT_ARGS[action]
        found: list[tuple[tuple[int | str, ...], str]] = []
        for key in sorted(set(args) - takes):
            takes_words = ", ".join(sorted(takes)) or "none"
            found.append((("args", key), f"unknown argument for {action} (it takes: {takes_words})"))
        for key in sorted(needs - set(args)):
            found.append((("args", key), f"{action} needs {key}"))
        if found:
            return found
        renamed = {("action" if k == "name" else k): v for k, v in args.items()}
        try:
            ProductEvent.model_validate({"name": action, **renamed})
        except ValidationError as e:
            return [
                (("args", *("name" if p == "action" else p for p in err["loc"])), _msg(err["msg"]))
                for err in e.errors()
            ]
        return []
    checked = dict(args)
    for name in sorted(DATED & checked.keys()):
        day = checked.pop(name)
        if isinstance(day, bool) or not isinstance(day, int | float) or not math.isfinite(day) or day < 0:
            what = "the pause ends" if name == "until" else "it happens"
            return [(("args", name), f"expected the day {what}, as a number of days since signing, got {day!r}")]
        checked[name] = datetime(2100, 1, 1, tzinfo=UTC)  # a valid time; the real one is made when sent
    try:
        UPDATES[action].model_validate(checked)
    except ValidationError as e:
        return [(("args", *err["loc"]), _msg(err["msg"])) for err in e.errors()]
    return []


def _check_contract(data: dict[str, Any]) -> list[tuple[tuple[int | str, ...], str]]:
    if "signed_at" in data:
        return [(("signed_at",), "leave it out: the simulation signs the contract on day 0")]
    try:
        Contract.model_validate(data)
    except ValidationError as e:
        return [(tuple(err["loc"]), line.split(": ", 1)[1]) for err, line in zip(e.errors(), problems(e), strict=True)]
    return []


def _line(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the deepest node along `loc` that exists in the document."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node, line = child, child.start_mark.line + 1
    return line
