"""The witness: a third vantage point on both regions' deep health, in neither region.

A controller that loses its peer asks the witness before it counts the probe as a failure
(``domain.ownership.peer_failed``): a peer only it cannot reach (a partition between the two, or a
peer too slow for its probes) keeps its merchants, and a region that reaches neither its peer nor
the witness is the one cut off and takes nothing over. The witness probes each region the way the
controllers do (``controller.deep_probe``, its timeouts counted as failures only after the same
grace), every half second, and answers ``GET /regions/<name>`` with ``{"region": ..., "view":
"reachable" | "unreachable"}`` (a controller asks it with ``controller.ask_witness``).

    python -m local_stack.regions.witness --port 20100 \\
        --region east=http://127.0.1.1:20001,http://127.0.0.1:20002 --region west=...
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from contact_center.domain.ownership import ProbeOutcome, SlowGrace, WitnessView
from local_stack.logs import configure
from local_stack.regions.controller import SLOW_GRACE_MS, deep_probe

log = logging.getLogger("local_stack.regions.witness")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Witness:
    """The latest view of each region, kept current by one prober thread per region."""

    def __init__(
        self,
        probes: Mapping[str, Callable[[], ProbeOutcome]],
        clock: Callable[[], int] = now_ms,
        interval: float = 0.5,
        grace_ms: int = SLOW_GRACE_MS,
    ) -> None:
        self._probes = dict(probes)
        self._clock = clock
        self._interval = interval
        self._graces = {name: SlowGrace(grace_ms) for name in probes}
        # Until its first probe, a region counts as reachable: a witness never starts a failover alone.
        self._views = dict.fromkeys(probes, WitnessView.REACHABLE)
        self._stopped = threading.Event()

    @property
    def regions(self) -> list[str]:
        return sorted(self._probes)

    def view(self, region: str) -> WitnessView:
        return self._views[region]

    def probe_once(self, region: str) -> WitnessView:
        try:
            outcome = self._probes[region]()
        except Exception:
            outcome = ProbeOutcome.REFUSED
        failed = self._graces[region].failed(outcome, self._clock())
        view = WitnessView.UNREACHABLE if failed else WitnessView.REACHABLE
        if view is not self._views[region]:
            log.warning("witness: region %s is %s", region, view.value)
        self._views[region] = view
        return view

    def start(self) -> None:
        for region in self._probes:
            threading.Thread(target=self._loop, args=(region,), name=f"witness-{region}", daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()

    def _loop(self, region: str) -> None:
        while not self._stopped.is_set():
            self.probe_once(region)
            self._stopped.wait(self._interval)


def serve(witness: Witness, host: str, port: int) -> ThreadingHTTPServer:
    """The witness's HTTP answer, served from a thread; ``shutdown()`` stops it."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            prefix = "/regions/"
            name = self.path[len(prefix) :] if self.path.startswith(prefix) else ""
            if name not in witness.regions:
                self._answer(404, {"error": {"code": "not_found", "field": "region"}})
                return
            self._answer(200, {"region": name, "view": witness.view(name).value})

        def _answer(self, status: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="witness-http", daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.3.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--region", action="append", default=[], help="NAME=LAMBDA_URL,DYNAMODB_URL (once per region)"
    )
    parser.add_argument("--table", default="switchboard")
    args = parser.parse_args(argv)
    configure("witness")
    probes: dict[str, Callable[[], ProbeOutcome]] = {}
    for spec in args.region:
        name, _, urls = spec.partition("=")
        lambda_url, _, dynamodb_url = urls.partition(",")

        def probe(lambda_url: str = lambda_url, dynamodb_url: str = dynamodb_url) -> ProbeOutcome:
            return deep_probe(lambda_url, dynamodb_url, args.table)

        probes[name] = probe
    witness = Witness(probes)
    witness.start()
    serve(witness, args.host, args.port)
    log.info("witness of %s on %s:%d", ", ".join(witness.regions), args.host, args.port)
    threading.Event().wait()


if __name__ == "__main__":
    main()
