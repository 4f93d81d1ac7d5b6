"""The scheduled invocations on one machine: the same ``contracts.schedules`` EventBridge runs in AWS.

A timer thread of the local Lambda service invokes each scheduled function with its event, every
``every_seconds``, as the EventBridge rule of the CDK app does (first run one period after start, as
a new rule's first).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from contact_center.contracts.schedules import Schedule

log = logging.getLogger("local_stack.schedules")

Invoke = Callable[[str, bytes], bool]  # (function name, event) -> whether it failed


class Scheduler(threading.Thread):
    def __init__(
        self,
        schedules: Sequence[Schedule],
        invoke: Invoke,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(name="scheduler", daemon=True)
        self.schedules = list(schedules)
        self._invoke = invoke
        self._clock = clock
        self.stopped = threading.Event()
        start = clock()
        self._due: dict[int, float] = {i: start + s.every_seconds for i, s in enumerate(self.schedules)}

    def run_due(self) -> float:
        """Invoke every schedule that is due; the seconds until the next one is."""
        now = self._clock()
        for index, schedule in enumerate(self.schedules):
            if self._due[index] <= now:
                # Missed periods are not caught up: EventBridge does not either.
                self._due[index] = now + schedule.every_seconds
                if self._invoke(schedule.function, json.dumps(dict(schedule.event)).encode()):
                    log.warning("scheduled %s of %s failed", dict(schedule.event), schedule.function)
        return max(0.0, min(self._due.values(), default=now + 60) - self._clock())

    def run(self) -> None:
        while not self.stopped.is_set():
            self.stopped.wait(self.run_due())


def for_functions(schedules: Sequence[Schedule], known: Mapping[str, object]) -> list[Schedule]:
    """The schedules whose function this service serves."""
    return [schedule for schedule in schedules if schedule.function in known]
