"""One worker thread for compiling big, unseen documents, so they never stall the event loop.

Parsing and validating a document is pure CPU (up to ~50 ms at the limits). On the event loop,
four clients sending fresh hostile documents make every other request wait for all of their
compilations. In the lane, they queue behind each other on one thread, and the event loop only
shares the GIL with that one thread (a switch every 5 ms): everyone else's requests go on.
Small documents and cache hits never leave the loop (a thread hop costs more than they do).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Final

from gateway.graphql_http import DocumentCache

__all__ = ["CompileLane"]

#: Documents shorter than this compile inline: a few ms at most, less than the hop's latency.
MIN_CHARS: Final = 1_000


class CompileLane:
    """Warms the document cache off the event loop for the requests that need it."""

    def __init__(self, cache: DocumentCache, *, min_chars: int = MIN_CHARS) -> None:
        self._cache = cache
        self._min_chars = min_chars
        self._executor: ThreadPoolExecutor | None = None  # started on first use

    async def warm(self, params: object) -> None:
        """Compile the query text(s) of a request body in the lane if big and not cached."""
        items = params if isinstance(params, list) else [params]
        for item in items:
            query = item.get("query") if isinstance(item, dict) else None
            if not isinstance(query, str) or len(query) < self._min_chars:
                continue
            if self._cache.lookup(query) is not None:
                continue
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="compile")
            loop = asyncio.get_running_loop()
            compiled = await loop.run_in_executor(
                self._executor, self._cache.compile_uncached, query
            )
            self._cache.store(query, compiled)  # on the loop: the cache has one writer

    def close(self) -> None:
        """Stop the worker thread (pending compilations are dropped); a new one starts on use."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
