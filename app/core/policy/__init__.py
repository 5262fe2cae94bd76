"""The incident policy: config models, validation with located messages, and layer merging.

One module per concern; the names every importer uses are re-exported here. Reading the
bundled default file is the edge's (`app.github.config`): the core is handed its text or data.
"""

from app.core.policy.durations import (
    MAX_BUSINESS_DAYS,
    MAX_SPAN,
    Duration,
    PositiveDuration,
    Span,
)
from app.core.policy.fields import LOGIN_RE, MAX_PATH, TEAM_RE, Loc, path_problem
from app.core.policy.layers import (
    BUNDLED,
    CONFIG_PATH,
    EXTENDS_RULE,
    MAX_EXTENDS_DEPTH,
    Layer,
    bundled,
    check_text,
    deep_merge,
    parse_extends,
    policy_from_layers,
)
from app.core.policy.models import FollowUp, Policy, Role, SeverityPolicy, UnresolvedTrack
from app.core.policy.problems import (
    HIDDEN,
    ConfigError,
    ConfigIssue,
    public_problems,
    validate,
)
from app.core.policy.public import SiteSettings, StatuspagePolicy
from app.core.policy.sections import (
    NOTIFIER_NAME,
    SLACK_ID,
    TRIGGER_KEYS,
    AlertsPolicy,
    BreachPolicy,
    CalendarPolicy,
    Confirm,
    DeclarationsPolicy,
    DrillsPolicy,
    NotifyRoute,
    PhasesPolicy,
    PirPolicy,
)
from app.core.policy.severity import Severity
from app.core.policy.yaml_guard import (
    MAX_CONFIG_BYTES,
    MAX_CONFIG_NODES,
    MAX_NESTING,
    TOO_DEEP,
    parse_yaml,
)

__all__ = [
    "BUNDLED",
    "CONFIG_PATH",
    "EXTENDS_RULE",
    "HIDDEN",
    "LOGIN_RE",
    "MAX_BUSINESS_DAYS",
    "MAX_CONFIG_BYTES",
    "MAX_CONFIG_NODES",
    "MAX_EXTENDS_DEPTH",
    "MAX_NESTING",
    "MAX_PATH",
    "MAX_SPAN",
    "NOTIFIER_NAME",
    "SLACK_ID",
    "TEAM_RE",
    "TOO_DEEP",
    "TRIGGER_KEYS",
    "AlertsPolicy",
    "BreachPolicy",
    "CalendarPolicy",
    "ConfigError",
    "ConfigIssue",
    "Confirm",
    "DeclarationsPolicy",
    "DrillsPolicy",
    "Duration",
    "FollowUp",
    "Layer",
    "Loc",
    "NotifyRoute",
    "PhasesPolicy",
    "PirPolicy",
    "Policy",
    "PositiveDuration",
    "Role",
    "Severity",
    "SeverityPolicy",
    "SiteSettings",
    "Span",
    "StatuspagePolicy",
    "UnresolvedTrack",
    "bundled",
    "check_text",
    "deep_merge",
    "parse_extends",
    "parse_yaml",
    "path_problem",
    "policy_from_layers",
    "public_problems",
    "validate",
]
