"""A small Server-Sent Events client for the tests: blocks as an app reads them."""

from __future__ import annotations

import requests


class Sse:
    """``GET url`` as ``text/event-stream``; :meth:`next` gives one block at a time:
    ``{"id", "event", "data", "retry", "comment"}`` (only what the block had), or None
    once the server ended the stream. A read waits at most ``timeout`` seconds."""

    def __init__(self, url: str, headers: dict[str, str], *, timeout: float = 5.0) -> None:
        self.response = requests.get(url, headers=headers, stream=True, timeout=(3, timeout))
        self.status = self.response.status_code
        self._chunks = self.response.iter_content(chunk_size=None) if self.status == 200 else iter(())
        self._buffer = ""
        self.ended = False

    def next(self) -> dict | None:
        while "\n\n" not in self._buffer:
            chunk = next(self._chunks, None)
            if chunk is None:
                self.ended = True
                return None
            self._buffer += chunk.decode()
        block, self._buffer = self._buffer.split("\n\n", 1)
        parsed: dict = {}
        for line in block.split("\n"):
            if line.startswith(":"):
                parsed["comment"] = line[1:].strip()
                continue
            name, _, value = line.partition(":")
            parsed[name] = value.removeprefix(" ")
        return parsed

    def next_event(self) -> dict | None:
        """The next block that is not a heartbeat comment."""
        while True:
            block = self.next()
            if block is None or "comment" not in block:
                return block

    def rest(self) -> list[dict]:
        """Every block until the server ends the stream."""
        blocks = []
        while (block := self.next()) is not None:
            blocks.append(block)
        return blocks

    def close(self) -> None:
        self.response.close()
