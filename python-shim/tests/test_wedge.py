import asyncio

import pytest
from conftest import run_leaving_wedges

from closekit_shim.wedge import SHIELD, SLEEP_LOOP, park_forever


class Rec:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict]] = []

    def __call__(self, ev: str, data: dict | None = None) -> None:
        self.events.append((ev, data or {}))


@pytest.mark.parametrize("construct", [SHIELD, SLEEP_LOOP])
def test_wedged_coroutine_survives_cancel(construct: str) -> None:
    async def main() -> None:
        rec = Rec()
        task = asyncio.create_task(park_forever("on_exit", rec, construct=construct))
        await asyncio.sleep(0.01)
        assert rec.events == [("wedge.entered", {"where": "on_exit", "construct": construct})]
        for _ in range(3):
            task.cancel()
            await asyncio.sleep(0.01)
        # what livekit-agents' utils.aio.cancel_and_wait does: cancel, then wait for it
        done, _ = await asyncio.wait([task], timeout=0.2)
        assert not done and not task.done()
        # wait_for around it times out instead of ending it
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), 0.05)
        assert not task.done()
        # the loop is not blocked: other tasks keep running while it is parked
        ticks = 0
        for _ in range(5):
            await asyncio.sleep(0)
            ticks += 1
        assert ticks == 5

    run_leaving_wedges(main())


def test_control_construct_honours_cancel() -> None:
    async def main() -> None:
        rec = Rec()
        task = asyncio.create_task(park_forever("tool", rec, ignore_cancellation=False))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
