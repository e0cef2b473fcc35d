"""The bounded queue: slots, waiting, 429 when full, 503 after waiting too long."""

from __future__ import annotations

import anyio
import pytest

from music_reasoning.server.admission import Admission
from music_reasoning.server.errors import ApiError


def test_a_full_queue_refuses_at_once_and_a_freed_slot_admits_the_waiter() -> None:
    admission = Admission(parallel=1, max_queue=1, wait_timeout=5, retry_after=2)
    order: list[str] = []

    async def main() -> None:
        release = anyio.Event()

        async def holder() -> None:
            async with admission.slot():
                order.append("first in")
                await release.wait()
            order.append("first out")

        async def waiter() -> None:
            async with admission.slot():
                order.append("second in")

        async with anyio.create_task_group() as tg:
            tg.start_soon(holder)
            await anyio.wait_all_tasks_blocked()
            tg.start_soon(waiter)
            await anyio.wait_all_tasks_blocked()
            assert (admission.active, admission.waiting) == (1, 1)
            with pytest.raises(ApiError) as exc:  # a third request: nobody more may wait
                async with admission.slot():
                    pass
            assert exc.value.status == 429 and exc.value.error.code == "SERVER_BUSY"
            assert exc.value.headers == {"Retry-After": "2"}
            release.set()
        assert (admission.active, admission.waiting) == (0, 0)

    anyio.run(main)
    assert order == ["first in", "first out", "second in"]


def test_max_queue_zero_means_no_waiting_at_all() -> None:
    admission = Admission(parallel=2, max_queue=0, wait_timeout=5, retry_after=1)

    async def main() -> None:
        async with admission.slot(), admission.slot():
            with pytest.raises(ApiError):
                async with admission.slot():
                    pass
        async with admission.slot():  # free again
            assert admission.active == 1

    anyio.run(main)


def test_waiting_past_the_timeout_is_503_and_leaves_no_trace() -> None:
    admission = Admission(parallel=1, max_queue=4, wait_timeout=0.05, retry_after=1)

    async def main() -> None:
        async with admission.slot():
            with pytest.raises(ApiError) as exc:
                async with admission.slot():
                    pass
            assert exc.value.status == 503
            assert admission.waiting == 0

    anyio.run(main)


def test_release_callbacks_run_before_the_slot_is_freed_even_when_one_fails() -> None:
    admission = Admission(parallel=1, max_queue=0, wait_timeout=1, retry_after=1)
    seen: list[tuple[str, int]] = []

    async def main() -> None:
        async with admission.slot() as ticket:

            async def failing() -> None:
                raise RuntimeError("boom")

            async def noting() -> None:
                seen.append(("cleanup", admission.active))

            ticket.on_release(noting)
            ticket.on_release(failing)
        assert admission.active == 0

    anyio.run(main)
    assert seen == [("cleanup", 1)]
