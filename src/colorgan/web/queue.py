"""The waiting room in front of the model: a bounded number of requests admitted, one computing at a time.

Built of anyio's own primitives (the runtime under Starlette): a semaphore of places, taken without waiting (a full
room answers at once), and a capacity limiter of one token for the worker thread that runs the model. Made on the
serving event loop (the app's lifespan), since a limiter's waiters belong to one loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
import anyio.to_thread
from starlette.requests import Request

T = TypeVar("T")


class QueueFull(Exception):
    """Every place in the waiting room is taken."""


class ModelQueue:
    """At most `places` requests admitted (computing or waiting); the model runs one of them at a time."""

    def __init__(self, places: int):
        self.places = places
        self._free = anyio.Semaphore(places)
        self._model = anyio.CapacityLimiter(1)

    @property
    def admitted(self) -> int:
        """Requests computing or waiting now."""
        return self.places - self._free.value

    async def run(self, request: Request, func: Callable[..., T], *args) -> T | None:
        """func(*args) in a worker thread when the model is free; None when the client left before its turn.
        Raises QueueFull at once when every place is taken."""
        try:
            self._free.acquire_nowait()
        except anyio.WouldBlock:
            raise QueueFull from None
        try:
            return await unless_client_leaves(request, anyio.to_thread.run_sync(func, *args, limiter=self._model))
        finally:
            self._free.release()


async def unless_client_leaves(request: Request, work: Awaitable[T]) -> T | None:
    """The result of `work`, or None when the client disconnects first (the wait is cancelled; a model already
    running in its thread finishes)."""
    result = None
    async with anyio.create_task_group() as group:

        async def cancel_when_gone() -> None:
            while (await request.receive())["type"] != "http.disconnect":  # the body is read: only a disconnect comes
                pass
            group.cancel_scope.cancel()

        group.start_soon(cancel_when_gone)
        result = await work
        group.cancel_scope.cancel()
    return result
