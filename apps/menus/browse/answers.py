"""Stored browse answers on the view path (cache-aside, the hottest path at meal times).

Each answer is stored with the catalog version it was built under (:mod:`.catalog`),
under two keys (:mod:`.rules`):

- the exact request (scheme, host, path, raw query string): the whole answer as the
  client got it (headers and JSON body), with a hole where each dish's
  ``portions_left`` goes. A repeated request is answered from it without parsing or
  validating anything: by :func:`respond`, and before Django by the ASGI entry
  (:mod:`.edge`). Only a 200 that Django produced for exactly that request is ever
  stored, so a request Django would refuse (a bad host, plain HTTP) never finds one.
- the normalised request (host, path, point rounded to 3 decimals, ~100 m, canonical
  filters, page): the payload, so nearby points and other spellings share one build.

A lookup is one Redis round trip (the version and the answer together). An answer is
fresh for ``settings.BROWSE_CACHE_SECONDS`` (which bounds how stale ``is_open`` can
be) under the current version; a stale one is rebuilt by the one request that claims
it, while the others get it as it was a moment ago (``X-Cache: stale``). A rebuild
that cannot reach the database serves the stale copy too, rather than an error.

Stock (``portions_left``) changes with every order, so it never invalidates: the holes
are filled with live figures (:mod:`.stock`) on every answer.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer

from apps.menus.browse import rules
from apps.menus.browse.catalog import catalog_version
from apps.menus.browse.clients import UNAVAILABLE, sync_client, unavailable
from apps.menus.browse.rules import REFRESH_HEADER, Found, StoredAnswer
from apps.menus.browse.stock import portions_cached, portions_live, stock_from, stock_store
from foodiefast.localtime import local_today

logger = logging.getLogger("foodiefast.browse")

JSON = "application/json"
# Headers never replayed from a stored answer: per request, or recomputed.
_NOT_STORED = frozenset({"content-length", "x-request-id", "date", "server", "x-cache"})


def database_unavailable(exc: BaseException) -> bool:
    """The database could not be reached (down, frozen past the client's deadline):
    a rebuild failing so serves the stale copy. Django's connection errors, and any
    error answered as 503 ``service_unavailable`` (the kernel's "database unavailable")."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    return getattr(exc, "code", None) == "service_unavailable" or getattr(exc, "status_code", None) == 503


class Read(NamedTuple):
    """What a browse view parsed from a request (after validating it)."""

    # What the request means, normalised: requests that mean the same share one build.
    key: tuple
    # load(today) -> (payload, the dishes just read from PostgreSQL whose stock it shows)
    load: Callable[[dt.date], tuple[dict[str, Any], list]]


class AnswerStore:
    """The stored answers of one browse request, read in one round trip."""

    def __init__(self, request, kind: str) -> None:
        self.request = request
        self.kind = kind
        self.key = rules.answer_key(
            kind,
            scheme=request.scheme,
            host=request.get_host(),
            path=request.path,
            query=request.META.get("QUERY_STRING", "").encode("latin-1", "replace"),
        )
        self.claim: rules.Claim | None = None
        self.found = Found(None, None, None)
        # The catalog version answers are built under; None without Redis (or with
        # Redis unavailable): nothing is read or stored, every answer is built.
        self.version: int | None = None
        client = sync_client()
        if client is not None:
            try:
                self.found = rules.found(*client.mget([rules.catalog_version_key(), self.key]))
            except UNAVAILABLE as exc:
                unavailable(exc, what="browse answers")
            else:
                self.version = self.found.version if self.found.version is not None else catalog_version()
        self.fresh_until = time.time() + settings.BROWSE_CACHE_SECONDS

    def _call(self, command: str, *args, **kwargs) -> Any:
        """A command on Redis; None when Redis is missing or unavailable."""
        client = sync_client()
        if client is None:
            return None
        try:
            return getattr(client, command)(*args, **kwargs)
        except UNAVAILABLE as exc:
            unavailable(exc, what="browse answers")
            return None

    def claim_refresh(self) -> bool:
        """True for the one request that rebuilds the stale answer: the one the ASGI
        entry sent with its claim's token, else whoever claims it first."""
        offered = self.request.headers.get(REFRESH_HEADER)
        key = rules.refresh_key(self.key)
        if offered and rules.holds_claim(self._call("get", key), offered):
            self.claim = rules.Claim(key, offered, 0)
            return True
        claim = rules.claim_for(self.key)
        if self._call("set", claim.key, claim.token, nx=True, px=claim.px):
            self.claim = claim
        return self.claim is not None

    def release_refresh(self) -> None:
        """Let the next request rebuild, if this one held the claim: at once, not
        when the claim runs out, also when the rebuild ended in an error."""
        if self.claim is not None:
            self._call("delete", self.claim.key)
            self.claim = None

    def payload(self, read: Read) -> tuple[dict[str, Any], Any]:
        """``(payload, stock)`` for the normalised request: the stored payload (stock
        None: read live), else ``read.load`` (its dishes' figures, just read) stored."""
        normal = rules.normal_key(self.kind, self.request.get_host(), self.request.path, *read.key)
        if self.version is not None:
            entry = rules.decode(self._call("get", normal))
            if entry is not None and entry[0] == self.version and time.time() < entry[1][1]:
                payload, self.fresh_until = entry[1]  # an answer from it is fresh no longer than it
                return payload, None
        today = local_today()
        payload, dishes = read.load(today)
        if self.version is not None:
            entry = rules.encode(self.version, (payload, self.fresh_until))
            self._call("set", normal, entry, ex=settings.BROWSE_CACHE_SECONDS)
        return payload, (stock_from(dishes, day=today) if dishes else None)

    def keep(self, response, *, ids: list[str], parts: list[bytes]) -> None:
        """Store the answer as the client gets it (called by
        :class:`~.middleware.BrowseAnswerMiddleware` once every middleware ran). Not
        a response that sets a cookie or varies with one. Kept past its freshness for
        ``BROWSE_STALE_SECONDS``, to serve while it is rebuilt."""
        storable = response.status_code == 200 and not response.cookies
        if self.version is not None and storable and "cookie" not in response.get("Vary", "").lower():
            headers = [
                (name.lower().encode("latin-1"), value.encode("latin-1"))
                for name, value in response.items()
                if name.lower() not in _NOT_STORED
            ]
            answer = StoredAnswer(headers, ids, parts, self.fresh_until)
            ttl = settings.BROWSE_CACHE_SECONDS + settings.BROWSE_STALE_SECONDS
            self._call("set", self.key, rules.encode(self.version, answer), ex=ttl)
        self.release_refresh()


def _replay(found: Found, state: str, *, live: dict[str, int]) -> HttpResponse:
    answer = found.answer
    response = HttpResponse(rules.fill(answer.parts, [live[i] for i in answer.ids]), content_type=JSON)
    response["X-Cache"] = state
    return response


def respond(request, kind: str, parse: Callable[[], Read], *, dishes_at: str | None = None) -> HttpResponse:
    """The browse answer to ``request``.

    The stored whole answer with live stock (``X-Cache: hit``; ``stale`` while another
    request rebuilds it), else ``parse()`` (which validates the request) and its
    payload, from the normalised entry or ``load``ed, rendered once with a hole for
    each dish's stock under ``payload[dishes_at]`` (no ``X-Cache``) and stored once
    the response is final. A rebuild the database cannot serve answers the stale copy
    when there is one."""
    store = AnswerStore(request, kind)
    found = store.found
    if found.answer is not None and (found.fresh or not store.claim_refresh()):
        live = portions_live(dish_ids=found.answer.ids, version=found.stored_version)
        return _replay(found, "hit" if found.fresh else "stale", live=live)

    try:
        payload, stock = store.payload(parse())
    except Exception as exc:
        store.release_refresh()  # e.g. the kitchen is gone (404): the next request tries again
        if found.answer is not None and database_unavailable(exc):
            live = portions_cached(dish_ids=found.answer.ids, version=found.stored_version, day=local_today())
            if len(live) == len(set(found.answer.ids)):
                logger.warning("browse: rebuild failed, stale answer served", extra={"error": type(exc).__name__})
                return _replay(found, "stale", live=live)
        raise
    dishes = payload[dishes_at] if dishes_at else []
    ids = [dish["id"] for dish in dishes]
    if stock:  # just read from PostgreSQL: store it, and show it
        stock_store(stock=stock, version=store.version)
        live = {dish_id: figure for dish_id, (figure, _) in stock.items()}
    else:
        live = portions_live(dish_ids=ids, version=store.version)
    hole = secrets.token_hex(16)
    template = {**payload, dishes_at: [{**dish, "portions_left": hole} for dish in dishes]} if dishes_at else payload
    parts = JSONRenderer().render(template).split(f'"{hole}"'.encode())
    response = HttpResponse(rules.fill(parts, [live[i] for i in ids]), content_type=JSON)
    response.browse_keep = partial(store.keep, ids=ids, parts=parts)
    return response
