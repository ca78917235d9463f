"""Facts from outside: product events (with their metrics and survey scores) and email feedback."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from onboarding.journey.clock import Clock
from onboarding.messages import EmailFeedback, ProductEvent
from onboarding.playbook import Escalate

USERS_KEPT = 20_000
"""Per-user metrics keep at most this many users per metric (a share needs each user once)."""


class Events(Clock):
    """A journey that learns from the product and the email provider."""

    def _product_event(self, event: ProductEvent, now: datetime) -> None:
        data: dict[str, Any] = {}
        detail = event.action or ""
        if event.action:
            data["action"] = event.action
        if event.name == "survey_answer":
            detail = f"goal reached: {'yes' if event.goal_reached else 'no'}; CSAT {event.csat}; CES {event.ces}"
            data = {"goal_reached": event.goal_reached, "csat": event.csat, "ces": event.ces}
            if event.nps is not None:
                detail, data["nps"] = f"{detail}; NPS {event.nps}", event.nps
        if event.name == "metric":
            assert event.metric is not None and event.value is not None  # the model checks
            detail, data = f"{event.metric} = {event.value:g}", {"metric": event.metric, "value": event.value}
        self._record("event", event.name, "customer", now, detail=detail, data=data)
        if not self.onboarding:
            return
        if event.name != "support_ticket":
            self.p.last_activity_at = now
        self._learn(event.name, now)
        if event.action:
            self._learn(f"key_action:{event.action}", now)
        if event.name == "metric":
            self._metric(event, now)
        if event.name == "survey_answer":
            self._survey(event, now)
        if event.name == "support_ticket":
            self._support_ticket(now)

    def _metric(self, event: ProductEvent, now: datetime) -> None:
        assert event.metric is not None and event.value is not None
        if event.user is None:
            self.p.metrics[event.metric] = event.value
            return
        users = self.p.user_metrics.setdefault(event.metric, {})
        if event.user in users or len(users) < USERS_KEPT:
            users[event.user] = event.value

    def _survey(self, event: ProductEvent, now: datetime) -> None:
        """Scores become metrics (`csat`, `ces`, `nps`); low ones and a goal not reached are red flags."""
        flags = self.playbook.red_flags
        self._learn("survey_answered", now)
        for name in ("csat", "ces", "nps"):
            score = getattr(event, name)
            if score is not None:
                self.p.metrics[name] = float(score)
        if event.goal_reached:
            self._learn("goal_reached", now)
        elif flags.goal_not_reached:
            self._flag("goal_not_reached", flags.goal_not_reached, now)
        for name, flag, bad in (
            ("low_csat", flags.low_csat, event.csat is not None and event.csat <= flags.low_csat_at_most),
            ("high_ces", flags.high_ces, event.ces is not None and event.ces >= flags.high_ces_at_least),
            ("low_nps", flags.low_nps, event.nps is not None and event.nps <= flags.low_nps_at_most),
        ):
            if flag and bad:
                self._flag(name, flag, now)
        fields = {"goal_reached": event.goal_reached, "csat": event.csat, "ces": event.ces, "nps": event.nps}
        self._react("survey_answered", now, fields)

    def _flag(self, name: str, flag: Escalate, now: datetime) -> None:
        self._escalate(name, flag, now, f"red_flag.{name}.{self.p.seq}")

    def _support_ticket(self, now: datetime) -> None:
        flags = self.playbook.red_flags
        window = flags.support_load_threshold
        self.p.tickets = [t for t in self.p.tickets if now - t < window.within] + [now]
        if len(self.p.tickets) >= window.tickets and flags.support_load:
            self._flag("support_load", flags.support_load, now)
            self.p.tickets = []

    def _email_feedback(self, feedback: EmailFeedback, now: datetime) -> None:
        """Opens and clicks count as activity; a hard bounce or spam report needs a person."""
        self._record(
            "event", f"email_{feedback.kind}", "provider", now, to=feedback.role, detail=feedback.template or ""
        )
        if not self.onboarding:
            return
        if feedback.kind in ("open", "click"):
            self.p.last_activity_at = now
        elif feedback.kind in ("bounce", "spam_report"):
            who = feedback.role or "a recipient"
            what = "bounced" if feedback.kind == "bounce" else "was reported as spam"
            reason = f"Email to {who} {what}: check the address and reach out another way"
            self._escalate(f"email_{feedback.kind}:{who}", Escalate(to="csm", reason={"en": reason}), now)
