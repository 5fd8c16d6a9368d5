"""The catalog version: one counter that every stored browse answer and every live
stock figure carries in its key, bumped by anything that changes what browsing shows.

Who bumps it. Menus owns browsing, so menus owns its cache and the counter: its own
writes (a dish added, edited, switched off, deleted; a bulk edit) call
:func:`catalog_changed`. What chefs owns (a kitchen's profile, its hours, approval,
withdrawal) also shows in browsing, but ``chefs`` sits below ``menus`` and may not
import it: chefs announces "what customers browse of a kitchen changed" with the
``kitchen_listing_changed`` signal of :mod:`apps.chefs.events`, sent inside its
writing transaction, and :func:`on_kitchen_listing_changed` (connected in
``MenusConfig.ready``) bumps the counter. A synchronous in-process signal, not an
outbox event: the bump must land when the write commits, so the next GET shows the
edit; an event relayed through the broker could be late, and a bump is cheap and
idempotent in effect. Either way the bump itself waits for the commit
(:func:`foodiefast.cache.namespace_bump`), so no reader can store old rows under the
new version.
"""

from __future__ import annotations

from apps.menus.browse.rules import CATALOG_NAMESPACE
from foodiefast.cache import namespace_bump, namespace_version


def catalog_changed() -> None:
    """What customers browse changed: stored browse answers and stock figures are
    outdated once the transaction commits (at once outside one); nothing is flushed."""
    namespace_bump(CATALOG_NAMESPACE)


def catalog_version() -> int:
    """The current catalog version (set to 1 when missing)."""
    return namespace_version(CATALOG_NAMESPACE)


def on_kitchen_listing_changed(sender, **kwargs) -> None:
    """Receiver of chefs' ``kitchen_listing_changed``."""
    catalog_changed()
