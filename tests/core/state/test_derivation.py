"""Tests of app/core/state/derivation: the record folded into the incident's state."""

from __future__ import annotations

from datetime import timedelta

from app.core import pir
from app.core.state import derive
from tests.factories import DECLARED, POLICY, TEMPLATE, snapshot


def test_every_field_of_the_template_is_kept_and_updates_are_numbered_in_githubs_order() -> None:
    snap = snapshot(
        "P1",
        comments=[
            (timedelta(minutes=10), "/status investigating looking at the load balancer"),
            (timedelta(minutes=20), TEMPLATE.format(next="in 30 minutes")),
        ],
    )
    state = derive(snap, POLICY)
    assert state is not None
    first, second = state.updates
    assert (first.number, second.number) == (1, 2)  # not the #7 the author typed
    assert second.fields.impact == "checkout fails for EU users about 30% of orders"
    assert second.fields.eta == "16:30 UTC"
    assert second.fields.actions == "rolled back deploy 412; watching error rate"
    assert second.promised == DECLARED + timedelta(minutes=50)

    entries = [e.event for e in pir.timeline(snap, state)]
    assert "Update #1: investigating — looking at the load balancer" in entries
    assert (
        "Update #2: mitigating — Impact: checkout fails for EU users about 30% of orders; "
        "ETA: 16:30 UTC; Next update: in 30 minutes; "
        "Actions: rolled back deploy 412; watching error rate"
    ) in entries


def test_fields_in_any_order_and_case_and_some_missing() -> None:
    body = "INCIDENT UPDATE\nactions: paging the DBA\nSTATUS: Monitoring\nETA: unknown"
    state = derive(snapshot("P2", comments=[(timedelta(minutes=5), body)]), POLICY)
    assert state is not None
    (update,) = state.updates
    assert update.status.value == "monitoring"
    assert update.fields.actions == "paging the DBA" and update.fields.eta == "unknown"
    assert update.fields.impact == ""
