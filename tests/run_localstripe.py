"""Start localstripe on loopback, its state kept in memory only.

localstripe pickles its whole store to the fixed path ``/tmp/localstripe.pickle`` on
every write (``Store.dump_to_disk``; it ignores ``TMPDIR``) and reloads it on start:
every localstripe on the machine would share and overwrite one file, and the dump
slows each write as the store grows. The test double needs neither, so both are
turned off here before the app serves.

Usage: ``python tests/run_localstripe.py <port>``
"""

from __future__ import annotations

import sys

from aiohttp import web
from localstripe import resources
from localstripe.server import app


def _no_disk(self) -> None:
    return None


resources.Store.dump_to_disk = _no_disk
resources.Store.try_load_from_disk = _no_disk

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
