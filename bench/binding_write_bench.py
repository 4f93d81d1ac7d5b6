"""Write-behind microbenchmark: CPU per binding of ``TableBindingStore.write`` against DynamoDB Local.

``.venv/bin/python bench/binding_write_bench.py [--bindings 7000] [--batch 200] [--rounds 3]``

Writes ``--bindings`` registrar bindings in flushes of ``--batch`` (what the location service's
0.2 s flush holds at 1,000 registrations/s), ``--rounds`` times (every round after the first is a
refresh of the same bindings with a new expiry), and prints the CPU of this process per binding
written (``time.process_time``: every thread, so concurrent requests count too; wall time is
DynamoDB Local's and is printed only as a hint). Each round also writes the same bindings as a
PynamoDB model each through ``Model.batch_write`` (``--reference``, on by default), interleaved, so
the two figures share the machine's conditions. Every written binding is then read back and
checked. Run it under the benchmark lock: ``flock /tmp/switchboard-bench.lock ...``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "core" / "python")]

from contact_center.data.bindings import BindingItems  # noqa: E402
from contact_center.data.models import BindingItem  # noqa: E402
from sip_edge.app.adapters.tables import TableBindingStore, binding_item_values  # noqa: E402
from sip_edge.sip.registration import Binding, binding_key  # noqa: E402
from tests.support.dynamodb import dynamodb_local, fake_credentials, fresh_table  # noqa: E402


def bindings(count: int, expires_at: float, cseq: int) -> list[Binding]:
    out = []
    for n in range(count):
        uri = f"sip:seat{n:05d}@127.0.0.1:{5060 + n % 1000}"
        out.append(
            Binding(
                aor=f"sip:seat{n:05d}@bench.switchboard.test",
                key=binding_key(uri, None),
                contact_uri=uri,
                expires_at=expires_at,
                received=f"127.0.0.1:{5060 + n % 1000}",
                transport="UDP",
                flow_owner="bench-edge-1",
                call_id=f"{n}-{cseq}@127.0.0.1",
                cseq=cseq,
                user_agent="sipp-register-bench",
            )
        )
    return out


def write_as_models(batch: list[Binding]) -> None:
    """The reference: a PynamoDB model per binding, written with the model's batch_write."""
    with BindingItem.batch_write() as writer:
        for b in batch:
            writer.save(BindingItem(**binding_item_values(b)))


def cpu_per_binding(
    write: Callable[[list[Binding]], None], batch: list[Binding], flush: int
) -> tuple[float, float]:
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for start in range(0, len(batch), flush):
        write(batch[start : start + flush])
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return cpu / len(batch) * 1e6, wall / len(batch) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bindings", type=int, default=7000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reference", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()

    fake_credentials()
    with dynamodb_local() as endpoint:
        fresh_table(endpoint)
        store = TableBindingStore()
        # First use of each path: clients, connections, imports.
        store.write(bindings(50, time.time() + 3600, 1), [])
        write_as_models(bindings(50, time.time() + 3600, 1))
        per_binding, reference = [], []
        now = time.time()
        for rnd in range(1, args.rounds + 1):
            if args.reference:
                cpu, wall = cpu_per_binding(
                    write_as_models, bindings(args.bindings, now + rnd, 0), args.batch
                )
                reference.append(cpu)
                print(
                    f"round {rnd}: PynamoDB models, batch_write: {cpu:.1f} us CPU per binding (wall {wall:.0f} us)"
                )
            # Last, so that the table holds this round's values for the check below.
            batch = bindings(args.bindings, now + 3600 + rnd, rnd)
            cpu, wall = cpu_per_binding(lambda b: store.write(b, []), batch, args.batch)
            per_binding.append(cpu)
            print(
                f"round {rnd}: TableBindingStore.write, {len(batch)} bindings in flushes of {args.batch}: "
                f"{cpu:.1f} us CPU per binding (wall {wall:.0f} us)"
            )
        # Every binding of the last round is in the table, with its last expiry.
        repo = BindingItems()
        for b in batch[:: max(1, len(batch) // 200)]:
            [item] = repo.current(b.aor, int(now))
            assert item.expires_at == int(b.expires_at) and item.cseq == args.rounds, item
        if reference:
            print(f"median, PynamoDB models: {statistics.median(reference):.1f} us CPU per binding written")
        print(
            f"median, TableBindingStore.write: {statistics.median(per_binding):.1f} us CPU per binding written"
        )


if __name__ == "__main__":
    main()
