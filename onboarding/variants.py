"""A/B tests of playbooks: a playbook names variants, each for a share of new onboardings.

```yaml
variants:
  - {name: short_cadence, share: 0.5, playbook: smb-short-cadence.yaml}
```

The variant's file sits beside the playbook and is a whole playbook of the same segment.
Which one a new onboarding follows depends only on its account id (a hash), so the same
account always lands in the same group, whichever intake or worker starts it. The snapshot
an onboarding runs says which it is (`variant`; None is the control group) and the journey
records it on the timeline at signing, where the KPI report reads it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from onboarding.playbook import PLAYBOOK_DIR, Playbook, PlaybookError, load

CONTROL = "control"


def bucket(account_id: str) -> float:
    """A number in [0, 1) that depends only on the account id."""
    return int(hashlib.sha256(account_id.encode()).hexdigest()[:12], 16) / 16**12


def snapshots(base: Playbook, folder: Path = PLAYBOOK_DIR, templates: set[str] | None = None) -> dict[str, Playbook]:
    """Every variant of `base`, loaded, checked and stamped with its name."""
    found: dict[str, Playbook] = {}
    for v in base.variants:
        path = folder / v.playbook
        pb = load(path, templates)
        if pb.segment != base.segment:
            why = f"variant {v.name!r} is a {pb.segment} playbook; this test is in {base.segment}"
            raise PlaybookError(f"{path}: {why}")
        if pb.variants:
            raise PlaybookError(f"{path}: a variant cannot name variants of its own")
        found[v.name] = pb.model_copy(update={"variant": v.name})
    return found


def pick(base: Playbook, account_id: str, found: dict[str, Playbook]) -> Playbook:
    """The snapshot this account follows: a variant when its bucket falls in that variant's share."""
    at, edge = bucket(account_id), 0.0
    for v in base.variants:
        edge += v.share
        if at < edge:
            return found[v.name]
    return base


def for_account(base: Playbook, account_id: str, templates: set[str] | None = None) -> Playbook:
    """The playbook a new onboarding of this account follows (the base when it runs no test)."""
    return pick(base, account_id, snapshots(base, templates=templates)) if base.variants else base


def name(pb: Playbook) -> str:
    return pb.variant or CONTROL
