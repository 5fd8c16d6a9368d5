"""Browse caching: the one room where stored browse answers, their replay before
Django, live stock and the catalog version live.

==================  ==================================================================
module              what it holds
==================  ==================================================================
``rules``           the rules as pure functions: keys, what is stored, freshness, the
                    refresh claim, reading stock back, normalising a request
``clients``         the Redis clients (sync for the views, async for the entry), with
                    connect and read timeouts, no retries, a one-second breaker
``catalog``         the catalog version and who bumps it (chefs announces its changes
                    with a signal; menus owns the counter: see that module)
``answers``         the view path: :func:`~.answers.respond` serves a stored answer
                    or builds, stores and serves one; stale-while-revalidate with one
                    claimant; the stale copy when a rebuild cannot reach the database
``middleware``      stores an answer once every middleware has run (its final headers)
``edge``            :func:`~.edge.serve_stored`, the ASGI entry's handler that replays
                    stored answers on the event loop
``stock``           live ``portions_left`` laid over every answer, ordered by
                    ``stock_seq``, written through by the services after commit
==================  ==================================================================

The views in :mod:`apps.menus.api.views` only parse a request, call a selector and
render; :func:`~.answers.respond` decides whether they are called at all. Both the
view path and the entry read and write Redis with a few lines each around the same
:mod:`.rules`, so they cannot drift apart.
"""
