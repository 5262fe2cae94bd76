"""Reading the public commands (issue 24): `/public`, `/public resolved`, `/public title`,
`/component`, `/impact`, and the PUBLIC UPDATE template."""

from __future__ import annotations

import pytest

from app.core import commands as cmd
from app.core.commands import ComponentState


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "/public We are looking into slow logins.",
            [cmd.Publish("We are looking into slow logins.")],
        ),
        ("/public resolved Logins work again.", [cmd.Publish("Logins work again.", final=True)]),
        ("/PUBLIC title Login problems", [cmd.PublicTitle("Login problems")]),
        ("/component API degraded", [cmd.SetComponent("API", ComponentState.DEGRADED)]),
        (
            "/component Web App major-outage",
            [cmd.SetComponent("Web App", ComponentState.MAJOR_OUTAGE)],
        ),
        (
            "/component API degraded\n/component Web partial-outage",
            [
                cmd.SetComponent("API", ComponentState.DEGRADED),
                cmd.SetComponent("Web", ComponentState.PARTIAL_OUTAGE),
            ],
        ),
        ("/impact 15", [cmd.SetImpact(15.0)]),
        ("/impact 12.5%", [cmd.SetImpact(12.5)]),
        (
            "## PUBLIC UPDATE\nLogins are slow for some customers.\nWe are on it.\n/component API degraded",
            [
                cmd.SetComponent("API", ComponentState.DEGRADED),
                cmd.Publish("Logins are slow for some customers.\nWe are on it.", template=True),
            ],
        ),
        ("> /public quoted, not given", []),
        ("```\n/public in a fence\n```", []),
    ],
)
def test_public_commands_are_read(body: str, expected: list[cmd.Command]) -> None:
    assert cmd.parse(body) == expected


@pytest.mark.parametrize(
    ("body", "command", "says"),
    [
        ("/public", "/public", "use /public <what customers should read>"),
        ("/public resolved", "/public", "use /public <what customers should read>"),
        ("/public title", "/public", "use /public title"),
        ("/component API broken", "/component", "`broken` is no state"),
        ("/component degraded", "/component", "use /component <name>"),
        ("/impact 200", "/impact", "use /impact <percent"),
        ("/impact lots", "/impact", "use /impact <percent"),
        ("/impact nan", "/impact", "use /impact <percent"),
    ],
)
def test_bad_public_commands_say_what_is_valid(body: str, command: str, says: str) -> None:
    [found] = cmd.parse(body)
    assert isinstance(found, cmd.Invalid)
    assert found.command == command
    assert says in found.problem


def test_public_text_is_cut_to_its_limit() -> None:
    [found] = cmd.parse("/public " + "x" * 5000)
    assert isinstance(found, cmd.Publish)
    assert len(found.text) == cmd.MAX_PUBLIC_CHARS


def test_the_template_heading_alone_is_no_update() -> None:
    assert cmd.parse("PUBLIC UPDATE\n\n") == []


@pytest.mark.parametrize(
    ("text", "share"),
    [
        ("about 15% of users", 15.0),
        ("12.5 % of checkouts", 12.5),
        ("most users", None),
        ("250%", None),
    ],
)
def test_an_impact_field_stating_a_percentage(text: str, share: float | None) -> None:
    assert cmd.impact_percent(text) == share
