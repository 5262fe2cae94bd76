"""Whom a role reaches (behaviour §4, "No silent escalation"): its holders on the incident,
then its backups. A role that reaches nobody hands the call on, so an escalation always
@-mentions someone: a role on the escalation chain to the next role up the chain that has
someone (then the incident commander), a role off it (legal, security, the team lead) to the
incident commander (then the chain). The comment names the empty seat and the config key
that fills it (`Reach.empty`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from app.core.policy import Policy

COMMANDER = "incident_commander"


@dataclass(frozen=True)
class Seat:
    """An empty seat: its name as the config writes it, and the key that fills it."""

    name: str  # `management.senior`, or the role's key when it names no seat at all
    key: str  # `roster.management.senior`, or `roles.legal.members`


@dataclass(frozen=True)
class Reach:
    """Whom a call for `role` reaches, and why."""

    role: str  # the role called
    people: tuple[str, ...]  # the mentions; empty only when nobody in the config can be reached
    backup: bool = False  # `people` are the backups of `by` (or of `role`)
    by: str = ""  # the role whose people these are, when not `role` (the call was handed on)
    empty: tuple[Seat, ...] = ()  # `role`'s seats without a GitHub login, when they matter

    @property
    def handed_on(self) -> bool:
        return bool(self.by)

    @property
    def reached(self) -> str:
        """The role whose people are called in."""
        return self.by or self.role


def who_reaches(
    role: str, policy: Policy, at: datetime, roles: Mapping[str, list[str]] | None = None
) -> tuple[list[str], bool]:
    """(the mentions a role reaches at `at`, whether they are its backups): its holders on
    the incident (`roles`, as `/assign` left them) or in the config, else its backups.

    `at` is when the call is made. Who is on call is already in `policy`: the plan holds it
    bound to its moment (`runbook.oncall.on_call_policy`), so a seat that follows a rotation
    resolves to whoever holds it — between the fixed holders and the backups — and a seat
    nobody holds (an empty rotation, an unreadable calendar) falls to the backups."""
    holders = (roles or {}).get(role) or policy.holders(role)
    if holders:
        return list(holders), False
    backups = policy.backups(role)
    return backups, bool(backups)


def empty_seats(role: str, policy: Policy) -> tuple[Seat, ...]:
    """The role's seats the roster maps to no login; or, naming no seat, the role itself."""
    found = policy.roles.get(role)
    members = found.members if found else []
    seats = [m for m in members if not m.startswith("@") and not policy.roster.get(m)]
    if seats:
        return tuple(Seat(m, f"roster.{m}") for m in seats)
    if not members:
        return (Seat(role, f"roles.{role}.members"),)
    return ()


def handoffs(role: str, policy: Policy) -> list[str]:
    """Where a call for `role` goes when the role reaches nobody, in order."""
    chain = policy.escalation_chain
    if role in chain:
        order = [*chain[chain.index(role) + 1 :], COMMANDER, *chain]
    else:
        order = [COMMANDER, *chain]
    return [r for r in dict.fromkeys(order) if r != role]


def reach(
    role: str, policy: Policy, at: datetime, roles: Mapping[str, list[str]] | None = None
) -> Reach:
    """Whom a call for `role` reaches at `at`, handed on when the role reaches nobody."""
    people, backup = who_reaches(role, policy, at, roles)
    empty = empty_seats(role, policy) if backup or not people else ()
    if people:
        return Reach(role, tuple(people), backup, "", empty)
    for other in handoffs(role, policy):
        people, backup = who_reaches(other, policy, at, roles)
        if people:
            return Reach(role, tuple(people), backup, other, empty)
    return Reach(role, (), False, "", empty)


def reaches(
    roles_called: list[str] | tuple[str, ...],
    policy: Policy,
    at: datetime,
    roles: Mapping[str, list[str]] | None = None,
) -> list[Reach]:
    """`reach` for each role called, in order."""
    return [reach(r, policy, at, roles) for r in roles_called]
