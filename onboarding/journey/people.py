"""Who is who on one onboarding: the team member for a vendor role, and who gets mail for a role."""

from __future__ import annotations

from onboarding.effects import Recipient
from onboarding.journey.state import Progress
from onboarding.models import VENDOR_ROLES, Contract, Person, StaffMember
from onboarding.playbook import Escalate


class People:
    """The people of a contract and its progress (the team, corrected contacts)."""

    contract: Contract
    p: Progress

    def staff(self, role: str) -> StaffMember | None:
        """The team member for a vendor role (the CSM stands in for a role nobody fills);
        with nobody assigned yet, the CS manager."""
        team = self.p.team
        if team is None:
            return self.p.cs_manager
        return getattr(team, role, None) or team.csm

    def assignee(self, esc: Escalate | str) -> str:
        role = esc if isinstance(esc, str) else esc.to
        person = self.staff(role)
        return person.id if person else role

    def recipient(self, role: str) -> Recipient | None:
        """Who gets mail for `role`: the contract's (or corrected) contact, the sales rep, or a
        member of the team; with nobody assigned yet, vendor mail goes to the CS manager, if any."""
        if role == "sales_rep":
            rep = self.contract.sales_rep
            return Recipient(role=role, name=rep.name, email=rep.email)
        if role in VENDOR_ROLES:
            staff = self.staff(role)
            if staff is None:
                return None
            return Recipient(
                role=role, name=staff.name, email=staff.email, locale=staff.locale, timezone=staff.timezone
            )
        contact = self.p.contacts.get(role) or self.contract.contact(role)
        person: Person = self.p.contacts.get(contact.role, contact)  # a stand-in champion may be corrected too
        return self.customer(role, person.name, person.email)

    def customer(self, role: str, name: str, email: str) -> Recipient:
        c = self.contract
        return Recipient(role=role, name=name, email=email, locale=c.locale, timezone=c.timezone)
