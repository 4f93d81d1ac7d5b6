"""The local stack's supervisor restarts what dies, with backoff, and says so."""

from __future__ import annotations

from dataclasses import dataclass, field

from local_stack.processes import Backoff, Child, Supervised, Supervisor


@dataclass
class FakeChild(Child):
    """A child whose life the test decides: `die` makes it exit with a code."""

    code: int | None = None
    starts: int = 0
    stops: int = 0
    log: list[str] = field(default_factory=list)

    def start(self) -> None:
        self.starts += 1
        self.code = None
        self.log.append(f"start {self.name}")

    def exited(self) -> int | None:
        return self.code

    def stop(self, grace: float = 5.0) -> None:
        self.stops += 1

    def die(self, code: int) -> None:
        self.code = code


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make(*names: str) -> tuple[Supervisor, dict[str, FakeChild], list[str], Clock]:
    said: list[str] = []
    clock = Clock()
    supervisor = Supervisor(said.append, Backoff(first=0.5, cap=4.0, healthy_after=30.0), clock)
    children = {}
    for name in names:
        child = FakeChild(name, [], {})
        children[name] = child
        supervisor.add(Supervised(child, ready=lambda: True))
        supervisor.start(name)
    return supervisor, children, said, clock


def test_backoff_doubles_up_to_its_cap_and_starts_over_after_a_healthy_run() -> None:
    backoff = Backoff(first=0.5, cap=4.0, healthy_after=30.0)
    delays = [backoff.next_delay(None, 0.0)]
    for _ in range(4):
        delays.append(backoff.next_delay(delays[-1], 1.0))
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert backoff.next_delay(4.0, 31.0) == 0.5


def test_a_dead_child_is_restarted_after_the_delay_and_the_console_says_so() -> None:
    supervisor, children, said, clock = make("sip edge")
    edge = children["sip edge"]
    edge.die(-9)
    supervisor.poll()
    assert said == ["sip edge (pid None) exited with signal SIGKILL; restarting in 0.5 s"]
    assert edge.starts == 1
    clock.now += 0.4
    supervisor.poll()
    assert edge.starts == 1  # not before its delay
    clock.now += 0.2
    supervisor.poll()
    assert edge.starts == 2
    assert said[-1] == "sip edge restarted (pid None) and serves again"


def test_a_child_that_keeps_crashing_waits_longer_each_time() -> None:
    supervisor, children, _said, clock = make("api")
    api = children["api"]
    delays = []
    for _ in range(4):
        api.die(1)
        supervisor.poll()
        entry = supervisor.children["api"]
        assert entry.delay is not None
        delays.append(entry.delay)
        clock.now += entry.delay
        supervisor.poll()
    assert delays == [0.5, 1.0, 2.0, 4.0]
    assert api.starts == 5


def test_dependents_restart_with_the_child_they_depend_on_and_after_it() -> None:
    said: list[str] = []
    clock = Clock()
    supervisor = Supervisor(said.append, Backoff(), clock)
    order: list[str] = []
    db = FakeChild("dynamodb", [], {}, log=order)
    lambdas = FakeChild("lambda", [], {}, log=order)
    tables: list[str] = []
    # The dependent is registered first: the order of registration must not decide the restarts'.
    supervisor.add(Supervised(lambdas, ready=lambda: True))
    supervisor.add(
        Supervised(
            db, ready=lambda: True, after_restart=lambda: tables.append("created"), dependents=("lambda",)
        )
    )
    supervisor.start("dynamodb")
    supervisor.start("lambda")
    order.clear()
    db.die(-9)
    supervisor.poll()
    assert lambdas.stops == 1 and "lambda restarts with dynamodb" in said
    clock.now += 1
    supervisor.poll()
    assert order == ["start dynamodb", "start lambda"]
    assert tables == ["created"]


def test_an_exit_code_is_reported_as_such() -> None:
    supervisor, children, said, _ = make("api")
    children["api"].die(3)
    supervisor.poll()
    assert "exited with code 3" in said[0]
