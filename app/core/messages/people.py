"""Who a message calls in: a role's holders, its backups, how to reach them."""

from __future__ import annotations

from app.core.messages.formatting import cell, quiet
from app.core.policy import Policy


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


def mentions(holders: list[str], title: str) -> str:
    return " ".join(holders) if holders else f"(nobody is named for {title} in the config)"


def all_holders(policy: Policy, roles: dict[str, list[str]]) -> list[str]:
    found: list[str] = []
    for role in policy.roles:
        found += roles.get(role) or policy.holders(role)
    return list(dict.fromkeys(found))


def reach(policy: Policy, role: str, holders: list[str]) -> str:
    """`**Senior Management**: @x (backup …) — contact …`: whom a message calls in, and how
    to reach them outside GitHub."""
    found = policy.roles.get(role)
    contact = (
        f" — `{cell(found.contact).replace(chr(0x200B), '')}`" if found and found.contact else ""
    )
    return f"**{policy.role_title(role)}**: {named(policy, role, holders)}{contact}"
