"""The engine workers' memory, parsed from /proc/<pid>/status."""

from __future__ import annotations

import os
from pathlib import Path

from ai_stack.aidb.metrics import EngineWorkerMemory
from ai_stack.aidb.vectors.base import EngineState, ReplicaState
from ai_stack.core.metrics import memory_bytes

STATUS = "Name:\tpython\nVmRSS:\t  1317888 kB\nRssAnon:\t   249856 kB\nRssFile:\t  1068032 kB\n"


def test_resident_and_anonymous_bytes_are_read_from_the_status_text() -> None:
    assert memory_bytes(STATUS) == (1317888 * 1024, 249856 * 1024)
    assert memory_bytes("Name:\tkthreadd\n") == (0, 0)  # a kernel thread has no memory lines


def test_only_live_workers_with_a_process_are_reported() -> None:
    replicas = [
        ReplicaState(replica=0, alive=True, building_index=False, serving=True, pid=os.getpid()),
        ReplicaState(replica=1, alive=False, building_index=False, serving=False, pid=os.getpid()),
        ReplicaState(replica=2, alive=True, building_index=False, serving=False, pid=None),
    ]
    state = EngineState(replicas=replicas, index_builds=0, last_build_s=None, points_since_build=0)
    families = list(EngineWorkerMemory("aidb", lambda: state).collect())
    own = memory_bytes(Path("/proc/self/status").read_text())
    for family in families:
        assert [s.labels["replica"] for s in family.samples] == ["0"]
        assert 0 < family.samples[0].value <= own[0] * 2
    assert [list(f.samples) for f in EngineWorkerMemory("aidb", lambda: None).collect()] == [[], []]
