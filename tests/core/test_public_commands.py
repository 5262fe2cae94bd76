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


@pytest.mark.parametrize(
    ("body", "command", "says"),
    [
        ("/public " + "x" * 2001, "/public", "at most 2000 characters (this one has 2001)"),
        ("/public resolved " + "x" * 2001, "/public", "at most 2000 characters"),
        ("PUBLIC UPDATE\n" + "x" * 2001, "PUBLIC UPDATE", "at most 2000 characters"),
        ("/public title " + "x" * 121, "/public", "a title has at most 120 characters"),
    ],
)
def test_a_public_text_over_its_limit_is_refused_not_cut(
    body: str, command: str, says: str
) -> None:
    [found] = cmd.parse(body)
    assert isinstance(found, cmd.Invalid)
    assert found.command == command
    assert says in found.problem
    assert cmd.parse("/public " + "x" * 2000) == [cmd.Publish("x" * 2000)]


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


def test_the_template_stops_at_an_internal_update_after_it() -> None:
    body = (
        "PUBLIC UPDATE\nCheckout is slow for some customers.\n\n"
        "INCIDENT UPDATE\nImpact: db-7 primary out of disk\nActions: failing over"
    )
    publish = [c for c in cmd.parse(body) if isinstance(c, cmd.Publish)]
    assert publish == [cmd.Publish("Checkout is slow for some customers.", template=True)]


@pytest.mark.parametrize(
    "body",
    [
        "/public Checkout is slow. <!-- db-7 is down, rohan on it -->",
        "PUBLIC UPDATE\nCheckout is slow.\n<!-- db-7 is down\nrohan is on it",
        "PUBLIC UPDATE\nCheckout is slow.\n<!--\ndb-7 is down\n-->",
    ],
)
def test_what_github_hides_never_goes_public(body: str) -> None:
    [publish] = [c for c in cmd.parse(body) if isinstance(c, cmd.Publish)]
    assert publish.text == "Checkout is slow."


def test_control_characters_are_left_out_of_public_text() -> None:
    [publish] = cmd.parse("/public Checkout\x1b[31m is\x07 slow\ud800.")
    assert isinstance(publish, cmd.Publish)
    assert publish.text == "Checkout[31m is slow."
    [title] = cmd.parse("/public title Slow\x00 checkout")
    assert title == cmd.PublicTitle("Slow checkout")


def test_a_command_github_hides_is_no_command() -> None:
    assert (
        cmd.parse("Draft:\n<!--\n/public We were breached\n/component API major-outage\n-->") == []
    )
    assert cmd.parse("<!-- /public not yet --> /public Checkout is slow.") == [
        cmd.Publish("Checkout is slow.")
    ]
    # An HTML comment left open inside a line is text on GitHub: the next line is shown.
    assert cmd.parse("Is it <!-- this?\n/public Checkout is slow.") == [
        cmd.Publish("Checkout is slow.")
    ]
