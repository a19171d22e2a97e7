"""The wedge: code that never returns and swallows cancellation.

The Python counterpart of ``ts/js-shim/wedge.ts: parkForever``. A JS task parked on
``await new Promise(() => {})`` never looks at its AbortSignal, so ``task.cancel()`` /
``interrupt({force: true})`` cannot end it. Python has no AbortSignal: cancellation is
``asyncio.CancelledError`` thrown into the awaiting coroutine. The same wedge in Python is
therefore a coroutine that catches that error and awaits again (docs/python-wedges.md).

The event loop stays free the whole time: the wedge only parks one task. A blocked loop
(``time.sleep``) would be a different failure, one that would also stop the close and
every timer, and no patch to the close path could fix it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, NoReturn

from .emit import Emit

logger = logging.getLogger("closekit.wedge")

#: on_enter/on_exit construct: an ``asyncio.shield``-ed await of a future nobody completes.
SHIELD = "shield"
#: function-tool construct: ``while True: try: await asyncio.sleep(3600) except CancelledError: continue``.
SLEEP_LOOP = "sleep-loop"


async def park_forever(
    where: str,
    emit: Emit,
    data: dict[str, Any] | None = None,
    *,
    construct: str = SHIELD,
    ignore_cancellation: bool = True,
) -> NoReturn:
    """Emit ``wedge.entered {where, construct}`` and never return.

    Args:
        where: "tool", "on_enter" or "on_exit" (the scenario's ``wedge.where``).
        emit: the timeline emitter.
        data: extra fields for the ``wedge.entered`` event (e.g. the tool's arguments).
        construct: ``SHIELD`` (await ``asyncio.shield(never_done_future)``) or
            ``SLEEP_LOOP`` (``await asyncio.sleep(3600)`` in a loop).
        ignore_cancellation: True (the scenario's ``ignores: cancellation``) catches
            ``asyncio.CancelledError`` and parks again, so ``task.cancel()`` and
            ``utils.aio.cancel_and_wait`` cannot end it. False lets cancellation through
            (a well-behaved coroutine that merely takes forever).

    Never returns. Raises ``asyncio.CancelledError`` only when ``ignore_cancellation`` is False.
    """
    emit("wedge.entered", {"where": where, "construct": construct, **(data or {})})
    loop = asyncio.get_running_loop()
    # Created once and never completed; shield() keeps a cancel from reaching it, so the
    # same future parks every iteration.
    never_done: asyncio.Future[None] = loop.create_future()
    swallowed = 0
    while True:
        try:
            if construct == SLEEP_LOOP:
                await asyncio.sleep(3600)
            else:
                await asyncio.shield(never_done)
        except asyncio.CancelledError:
            if not ignore_cancellation:
                raise
            swallowed += 1
            # Clear the pending-cancel count (3.11+), as code that "handles" a cancel does;
            # otherwise asyncio.timeout()/TaskGroup in the caller would still see it.
            task = asyncio.current_task()
            if task is not None and hasattr(task, "uncancel"):
                task.uncancel()
            logger.info("wedge at %s swallowed cancellation #%d", where, swallowed)
            continue
