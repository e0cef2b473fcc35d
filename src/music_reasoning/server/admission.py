"""The server's front door: ``parallel`` slots on the model and a bounded queue before them.

A request that needs the model takes a slot; when every slot is taken it waits in the
queue; when ``max_queue`` requests are already waiting it is refused at once with 429
and ``Retry-After``.  A request that waits longer than the timeout gets 503.  Everything
runs on the event loop thread, so the counters need no lock.

Routes take a slot through :meth:`Admission.slot`, used as a FastAPI dependency with
``yield``: the slot is released after the response has been sent (a streamed answer
keeps it to its last chunk), and callbacks registered on the :class:`Ticket` (closing a
stream the client never read) run first.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio

from music_reasoning.errors import ServerBusyError
from music_reasoning.server.errors import ApiError

__all__ = ["Admission", "Ticket"]

logger = logging.getLogger(__name__)


class Ticket:
    """One admitted request: cleanups to run before its slot is released."""

    def __init__(self) -> None:
        self._cleanups: list[Callable[[], Awaitable[None]]] = []

    def on_release(self, cleanup: Callable[[], Awaitable[None]]) -> None:
        """Run ``cleanup`` (once, shielded from cancellation) before the slot is freed."""
        self._cleanups.append(cleanup)

    async def _release(self) -> None:
        with anyio.CancelScope(shield=True):
            for cleanup in reversed(self._cleanups):
                try:
                    await cleanup()
                except Exception:
                    logger.exception("cleanup of an admitted request failed")


class Admission:
    """``parallel`` slots and a queue of at most ``max_queue`` waiting requests."""

    def __init__(self, *, parallel: int, max_queue: int, wait_timeout: float, retry_after: int):
        self.parallel = parallel
        self.max_queue = max_queue
        self.wait_timeout = wait_timeout
        self.retry_after = retry_after
        self._slots = anyio.Semaphore(parallel)
        self.waiting = 0
        self.active = 0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[Ticket]:
        """Hold a slot for the block.

        Raises:
            ApiError: 429 ``SERVER_BUSY`` when the queue is full; 503 ``SERVER_BUSY``
                after waiting ``wait_timeout`` seconds.
        """
        if self._slots.value == 0 and self.waiting >= self.max_queue:
            raise ApiError(
                ServerBusyError(
                    f"All {self.parallel} slots are busy and {self.waiting} requests are "
                    "already waiting.",
                    details={"parallel": self.parallel, "max_queue": self.max_queue},
                ),
                status=429,
                headers={"Retry-After": str(self.retry_after)},
            )
        self.waiting += 1
        try:
            with anyio.move_on_after(self.wait_timeout) as waited:
                await self._slots.acquire()
        finally:
            self.waiting -= 1
        if waited.cancelled_caught:
            raise ApiError(
                ServerBusyError(f"No slot became free within {self.wait_timeout:g} s."),
                status=503,
                headers={"Retry-After": str(self.retry_after)},
            )
        self.active += 1
        ticket = Ticket()
        try:
            yield ticket
        finally:
            try:
                await ticket._release()
            finally:
                self.active -= 1
                self._slots.release()
