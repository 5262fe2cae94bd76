"""Where a repository's incidents are published for customers (the public status site)."""

from __future__ import annotations

from pydantic import Field

from app.core.policy.sections import _Model

REPOSITORY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$"
BRANCH_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$"  # gh-pages, main, site: no slashes, no dots


class StatuspagePolicy(_Model):
    """The public status site on GitHub Pages that this repository's incidents appear on."""

    repository: str = Field(
        pattern=REPOSITORY_PATTERN,
        description="owner/name of the repository whose Pages serve the site (the app must "
        "be installed there); several repositories may share one.",
    )
    branch: str = Field(
        pattern=BRANCH_PATTERN,
        description="The branch Pages deploys from, e.g. gh-pages (no default: it may hold "
        "something else already).",
    )


class SiteSettings(_Model):
    """The status repository's own `.github/incident.yml`, the part the site reads."""

    title: str = Field(
        default="Service status", min_length=1, max_length=80, description="The site's title."
    )
    components: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="The components customers see, in order (`/component <name> <state>`).",
    )
