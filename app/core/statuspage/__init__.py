"""The public status site on GitHub Pages (issue 24): the record customers may read of an
incident, and the site's files rendered from every listed incident's record. Pure."""

from app.core.statuspage.current import site_url
from app.core.statuspage.model import (
    ComponentState,
    History,
    PublicIncident,
    PublicStatus,
    PublicUpdate,
    SiteConfig,
)
from app.core.statuspage.record import (
    impact_share,
    impact_statements,
    listed,
    opaque_id,
    public_incident,
)
from app.core.statuspage.site import CNAME, HISTORY_FILE, read_history, render

__all__ = [
    "CNAME",
    "HISTORY_FILE",
    "ComponentState",
    "History",
    "PublicIncident",
    "PublicStatus",
    "PublicUpdate",
    "SiteConfig",
    "impact_share",
    "impact_statements",
    "listed",
    "opaque_id",
    "public_incident",
    "read_history",
    "render",
    "site_url",
]
