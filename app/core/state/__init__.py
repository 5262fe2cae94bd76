"""The incident's state, folded from GitHub's record in GitHub's time order (pure).

Facts are label events, closing and reopening, and authorised command comments, each at
its GitHub timestamp. The app's own label events are consequences of facts, so they count
only when their cause is gone (a deleted command comment): deleting a command never undoes
it, and deliveries arriving out of order cannot reorder facts. See README "State machine".

`model` holds the state, `authority` who may act, `facts` the facts and how they rank,
`derivation` the fold (`derive`).
"""

from app.core.state.authority import (
    authorized,
    briefed_at,
    command_uses,
    contested_events,
    label_actors,
    may_act,
    needs_confirmation,
    recorders,
)
from app.core.state.derivation import declared_at, derive
from app.core.state.model import (
    BreachRecord,
    Change,
    CommandUse,
    IncidentState,
    OwnNote,
    Update,
)

__all__ = [
    "BreachRecord",
    "Change",
    "CommandUse",
    "IncidentState",
    "OwnNote",
    "Update",
    "authorized",
    "briefed_at",
    "command_uses",
    "contested_events",
    "declared_at",
    "derive",
    "label_actors",
    "may_act",
    "needs_confirmation",
    "recorders",
]
