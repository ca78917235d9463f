"""Actions sent without an answer yet, so the same command run again reuses the action's id.

Each action command gets a fresh id (a uuid4), sent as the message id and the Temporal update
id. The id is written here before the action leaves and removed once the onboarding answers
(accepted or refused). A command that times out or is interrupted leaves its entry: running
the same command again (same account, action and fields) sends the same id, and Temporal's
update-id dedupe and the journey's own id dedupe apply it at most once.

One small file per pending action in $ONBOARDING_STATE_DIR (default .local/admin/ in the
project), named by a hash of account, action and fields: the file holds the id, the account
and the action's name, never the fields themselves (an invitee's name or address).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from adapters.config import LOCAL
from onboarding.messages import Action


def folder() -> Path:
    return Path(os.environ.get("ONBOARDING_STATE_DIR") or LOCAL / "admin")


@dataclass(frozen=True)
class Pending:
    """One action's place in the journal: its file and the id to send."""

    path: Path
    id: str
    again: bool  # True when an earlier run of the same command left this id unanswered

    def keep(self, account_id: str, name: str) -> None:
        """Write the entry before the action leaves (a crash or Ctrl-C after this keeps it)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        draft = self.path.with_suffix(".tmp")
        draft.write_text(json.dumps({"id": self.id, "account": account_id, "action": name}))
        draft.replace(self.path)

    def forget(self) -> None:
        """The onboarding answered: the next run of this command is a new action."""
        self.path.unlink(missing_ok=True)


def pending(account_id: str, name: str, action: Action, new_id: str) -> Pending:
    """The entry for this command: the id an unanswered earlier run used, else `new_id`."""
    fields = action.model_dump(mode="json", exclude={"id"})
    digest = hashlib.sha256(json.dumps([account_id, name, fields], sort_keys=True).encode()).hexdigest()
    path = folder() / f"{digest[:32]}.json"
    try:
        return Pending(path, str(json.loads(path.read_text())["id"]), again=True)
    except (OSError, ValueError, KeyError, TypeError):  # none yet, or unreadable: this is a new action
        return Pending(path, new_id, again=False)
