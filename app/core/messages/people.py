"""Who a message calls in: a role's holders, its backups, how to reach them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from app.core.messages.formatting import cell, quiet
from app.core.policy import Policy

if TYPE_CHECKING:
    from app.core.runbook.reach import Reach, Seat

CONFIG_FILE = ".github/incident.yml"


def backups(policy: Policy, role: str) -> list[str]:
    """The role's backups as mentions, seats without a login left out."""
    found = policy.roles.get(role)
    return [m for m in (policy.resolve(x) for x in (found.backup if found else [])) if m]


def named(policy: Policy, role: str, holders: list[str], *, notify: bool = True) -> str:
    """Who holds a role: @-mentioned when the severity notifies it (runbook: "Alert
    appropriate team members based on severity"), else named quietly; a role nobody holds
    falls back to its backup, and says so."""
    show = (lambda m: m) if notify else quiet
    if holders:
        return " ".join(show(h) for h in holders)
    found = policy.roles.get(role)
    seats = [m for m in (found.members if found else []) if not m.startswith("@")]
    missing = (
        " ".join(f"`{s}`" for s in seats) + " — no GitHub login in the roster"
        if seats
        else "nobody named in the config"
    )
    spare = backups(policy, role)
    if spare:
        return f"{' '.join(show(b) for b in spare)} (backup: {missing})"
    return missing


def all_holders(policy: Policy, roles: dict[str, list[str]]) -> list[str]:
    found: list[str] = []
    for role in policy.roles:
        found += roles.get(role) or policy.holders(role)
    return list(dict.fromkeys(found))


def seats(empty: Sequence[Seat]) -> str:
    """Empty seats and the config keys that fill them."""
    if not empty:
        return "nobody named in the config"
    names = " ".join(f"`{seat.name}`" for seat in empty)
    keys = ", ".join(f"`{seat.key}`" for seat in empty)
    if all(seat.key.startswith("roster.") for seat in empty):
        return f"{names} — no GitHub login in the roster: set {keys} in `{CONFIG_FILE}`"
    return f"{names} — nobody named in the config: set {keys} in `{CONFIG_FILE}`"


def called_in(policy: Policy, r: Reach) -> str:
    """Whom a call reaches, and why them: the holders; the backups, naming the empty seats;
    or, handed on, the empty seats and the role that takes the call."""
    people = " ".join(r.people)
    if not r.people:
        return f"{seats(r.empty)}; nobody else in the config to reach"
    if not r.handed_on:
        return f"{people} (backup: {seats(r.empty)})" if r.backup else people
    whose = "the backup of " if r.backup else ""
    return (
        f"nobody to reach ({seats(r.empty)}), so the call goes to "
        f"{whose}**{policy.role_title(r.by)}**: {people}"
    )


def reach(policy: Policy, r: Reach) -> str:
    """`**Senior Management**: @x — `contact``: whom a message calls in for a role, and how
    to reach the role outside GitHub (beside its title when others take its call)."""
    found = policy.roles.get(r.role)
    contact = f"`{cell(found.contact).replace(chr(0x200B), '')}`" if found and found.contact else ""
    title = f"**{policy.role_title(r.role)}**"
    if r.handed_on and contact:
        return f"{title} ({contact}): {called_in(policy, r)}"
    return f"{title}: {called_in(policy, r)}" + (f" — {contact}" if contact else "")
