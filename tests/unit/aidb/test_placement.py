"""Moving the embedded engine's store between aidb's process and its replicas: the file moves."""

from __future__ import annotations

from pathlib import Path

from ai_stack.aidb.vectors.placement import copy_shard, leader_replica, move_into_process
from ai_stack.aidb.vectors.worker import SEQ_FILE


def shard(path: Path, seq: int | None = None, content: str = "segment") -> Path:
    path.mkdir(parents=True)
    (path / "data").write_text(content)
    if seq is not None:
        (path / SEQ_FILE).write_text(str(seq))
    return path


def test_the_leader_is_the_replica_that_applied_most_and_never_a_copy_under_way(tmp_path: Path) -> None:
    shard(tmp_path / "0", seq=5)
    shard(tmp_path / "1", seq=9)
    shard(tmp_path / ".0.copying", seq=99)  # a copy a crash interrupted
    (tmp_path / "2").mkdir()  # empty: no shard
    assert leader_replica(tmp_path) == tmp_path / "1"
    assert leader_replica(tmp_path / "missing") is None


def test_a_copy_replaces_the_target_whole_and_leaves_nothing_behind(tmp_path: Path) -> None:
    source = shard(tmp_path / "a", content="new")
    target = shard(tmp_path / "b", content="old")
    (target / "stale-segment").write_text("x")
    copy_shard(source, target)
    assert (target / "data").read_text() == "new"
    assert not (target / "stale-segment").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


def test_a_store_moves_into_the_process_from_its_most_advanced_replica(tmp_path: Path) -> None:
    replicas = tmp_path / "replicas"
    shard(replicas / "0", seq=3, content="behind")
    shard(replicas / "1", seq=4, content="ahead")
    move_into_process(tmp_path / "single", replicas)
    assert (tmp_path / "single" / "data").read_text() == "ahead"
    assert not (tmp_path / "single" / SEQ_FILE).exists()  # the replicas' sequence means nothing here
    assert not replicas.exists()


def test_an_existing_in_process_store_is_kept_and_the_replicas_left_alone(tmp_path: Path) -> None:
    replicas = tmp_path / "replicas"
    shard(replicas / "0", seq=3, content="replica")
    shard(tmp_path / "single", content="own")
    move_into_process(tmp_path / "single", replicas)
    assert (tmp_path / "single" / "data").read_text() == "own"
    assert (replicas / "0" / "data").read_text() == "replica"
