"""The atomic refresh (DAS bug 32: delete-then-requery made the data vanish): reader
threads hammer a query while it is refreshed again and again; no reader may ever see it
missing, empty, or a mix of two upstream answers (the DemoUpstream's ``gen`` marker)."""

from __future__ import annotations

import threading
import time

import pytest

from tasks.das.service import DasService
from tasks.das.upstream import Upstreams
from tests.das.conftest import generations, twin

Q = "dataset dataset.name=/Hot/Data/RAW"
READERS = 4


def _hammer(service: DasService, stop: threading.Event, seen: set[int], problems: list[str], reads: list[int]) -> None:
    count = 0
    while not stop.is_set():
        result = service.call(Q, record=False)
        gens = {r["gen"] for r in result.records}
        if result.status != "cached":
            problems.append(f"status {result.status} ({result.error})")
        elif len(result.records) != 5:
            problems.append(f"{len(result.records)} records")
        elif len(gens) != 1:
            problems.append(f"a mix of generations {sorted(gens)}")
        else:
            seen.update(gens)
        if not service.in_cache(Q):
            problems.append("in_cache said no")
        count += 1
    reads.append(count)


@pytest.mark.parametrize("refreshers", [1, 2])
def test_readers_never_see_the_query_vanish_or_mix_during_refreshes(store, demo, refreshers):
    demo.records_per_value = 5
    service = DasService(store, Upstreams(demo.config(expire_s=3600.0)))
    first = service.call(Q, record=False)
    assert first.status == "ok"
    stop = threading.Event()
    seen: set[int] = set()
    problems: list[str] = []
    reads: list[int] = []
    readers = [threading.Thread(target=_hammer, args=(service, stop, seen, problems, reads)) for _ in range(READERS)]
    refreshed: list[str] = []

    # Each refresher has its own service and store object, as separate worker processes would:
    # their switches really race (one service serializes its own refreshes of a query).
    others = [DasService(twin(store), Upstreams(demo.config(expire_s=3600.0))) for _ in range(refreshers - 1)]

    def refresh_loop(refresher: DasService) -> None:
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and not problems:
            result = refresher.refresh(Q)
            refreshed.append(result.status if result.ok else f"{result.status}: {result.error}")

    writers = [threading.Thread(target=refresh_loop, args=(s,)) for s in [service, *others]]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    for thread in readers:
        thread.join()
    for other in others:
        other.close()
    assert problems == []
    assert refreshed and set(refreshed) == {"ok"}
    assert len(seen) > 3, f"readers saw only generations {seen}: the refreshes did not interleave with the reads"
    assert sum(reads) > 50
    final = store.read(first.qhash)
    assert final is not None and len(final.records) == 5 and generations(store, first.qhash) == {final.generation}
    assert demo.requests == 1 + len(refreshed)
