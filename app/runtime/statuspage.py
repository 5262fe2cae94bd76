"""Publishing incidents on their public status site: one commit per change, one site at a
time, at most one commit a minute (Pages rebuilds about ten times an hour).

Every publish renders the whole site from the branch's history with this incident's record
in it, so what any replica, redelivery or tick renders for the same records is the same
tree, and the same tree is no commit. A change inside the minute after the branch's last
commit waits in `pending` for the next run or tick after it (`flush`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.core.policy import StatuspagePolicy
from app.core.statuspage import (
    CNAME,
    HISTORY_FILE,
    PublicIncident,
    SiteConfig,
    read_history,
    render,
    site_url,
)
from app.github import pages
from app.github.config import ConfigLoader
from app.github.errors import GitHubError
from app.github.port import GitHubPort
from app.runtime.cluster import Busy

log = logging.getLogger(__name__)

MIN_INTERVAL = timedelta(minutes=1)
ATTEMPTS = 3  # reads and writes when the branch moved meanwhile
COMMIT_MESSAGE = "Update the status site"

SiteLock = Callable[[str], contextlib.AbstractAsyncContextManager[object]]


@contextlib.asynccontextmanager
async def _no_lock(_name: str) -> AsyncIterator[None]:
    yield None


@dataclass(frozen=True)
class SiteKey:
    """A site: the installation that reaches it, its repository and branch."""

    installation_id: int
    repository: str
    branch: str

    @property
    def name(self) -> str:
        return f"statuspage:{self.repository.lower()}:{self.branch}"


@dataclass
class Published:
    """What one publish did: `commit` when it wrote, `deferred` when it waits for the minute."""

    commit: str | None = None
    deferred: bool = False
    unchanged: bool = False
    error: str | None = None


@dataclass
class _Site:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    pending: dict[str, PublicIncident] = field(default_factory=dict)
    known: dict[str, PublicIncident] = field(default_factory=dict)  # as the branch has them
    components: tuple[str, ...] = ()  # the site's list, as last read

    def shown(self, incident: PublicIncident) -> PublicIncident:
        """The incident as this site shows it: only the components it lists."""
        return incident.limited_to(self.components)


class Publisher:
    """Puts incidents' public records on their sites (app/core/statuspage renders them)."""

    def __init__(
        self,
        *,
        now: Callable[[], datetime],
        config: ConfigLoader,
        shared: SiteLock | None = None,
    ) -> None:
        self._now = now
        self._config = config
        self._shared = shared or _no_lock
        self._sites: dict[SiteKey, _Site] = {}

    def pending(self) -> list[SiteKey]:
        """The sites with changes waiting for their minute."""
        return [key for key, site in self._sites.items() if site.pending]

    async def publish(
        self,
        gh: GitHubPort,
        installation_id: int,
        where: StatuspagePolicy,
        incident: PublicIncident,
    ) -> Published:
        """Put `incident` on its site, unless the site has it so already. Never raises."""
        key = SiteKey(installation_id, where.repository, where.branch)
        site = self._sites.setdefault(key, _Site())
        if site.known.get(incident.id) == site.shown(incident) and incident.id not in site.pending:
            return Published(unchanged=True)
        site.pending[incident.id] = incident
        return await self._write(gh, key, site)

    async def flush(self, clients: Callable[[int], GitHubPort]) -> list[Published]:
        """Write what waited for its minute, site by site (the tick calls this)."""
        done = []
        for key in self.pending():
            done.append(await self._write(clients(key.installation_id), key, self._sites[key]))
        return done

    async def _write(self, gh: GitHubPort, key: SiteKey, site: _Site) -> Published:
        try:
            async with site.lock, self._shared(key.name):
                return await self._attempts(gh, key, site)
        except Busy:
            return Published(deferred=True)  # another replica is writing it: the next run
        except GitHubError as exc:
            log.warning("status site %s: %s", key.repository, exc)
            return Published(error=str(exc))
        except Exception as exc:
            log.exception("status site %s failed", key.repository)
            return Published(error=f"internal error: {type(exc).__name__}")

    async def _attempts(self, gh: GitHubPort, key: SiteKey, site: _Site) -> Published:
        owner, name = key.repository.split("/", 1)
        for _ in range(ATTEMPTS):
            branch = await pages.read_branch(gh, key.repository, key.branch)
            history = read_history(await pages.read_text(gh, key.repository, branch, HISTORY_FILE))
            site.known = dict(history.incidents)
            cname = await pages.read_text(gh, key.repository, branch, CNAME)
            settings = (await self._config.load(gh, owner, name)).policy.site
            config = SiteConfig(
                settings.title, site_url(key.repository, cname), tuple(settings.components)
            )
            site.components = config.components
            shown = (site.shown(incident) for incident in site.pending.values())
            wanted = {i.id: i for i in shown if history.incidents.get(i.id) != i}
            if not wanted:
                site.pending.clear()
                return Published(unchanged=True)
            now = self._now()
            if branch.committed_at is not None and now - branch.committed_at < MIN_INTERVAL:
                return Published(deferred=True)
            merged = history.merged(wanted.values())
            files = render(config, merged, now=now, cname=cname)
            try:
                sha = await pages.commit(gh, key.repository, branch, files, COMMIT_MESSAGE)
            except pages.BranchMoved:
                continue  # another writer: read what it wrote, render again
            site.known = dict(merged.incidents)
            site.pending.clear()
            return Published(commit=sha, unchanged=sha is None)
        return Published(deferred=True)  # kept pending: the next run or tick tries again
