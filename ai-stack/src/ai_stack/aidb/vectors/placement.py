"""Where the embedded engine's shard lives, and moving it when `edge_replicas` changes.

The store lives in one place at a time: in aidb's process (one shard directory) or in replica
workers (a directory per replica). Turning the replicas on or off moves it: the new place starts
as a copy of the old, and the old copy is then removed. A copy left behind would be opened, stale,
by a later change back, and searches would silently miss everything written in between.

Copies are made under a temporary name and renamed into place, so that a crash mid-copy never
leaves a partial shard that looks whole. A crash after the copies and before the removal leaves
two equal copies: the configured place wins, and the other is reported, not deleted.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import structlog

from ai_stack.aidb.vectors.worker import SEQ_FILE, read_applied_seq

log = structlog.get_logger(__name__)


def has_shard(path: Path) -> bool:
    return path.is_dir() and any(path.iterdir())


def replica_dirs(root: Path, count: int) -> list[Path]:
    return [root / str(i) for i in range(count)]


def leader_replica(root: Path) -> Path | None:
    """The replica under `root` that applied the most writes (None: no replica has a shard)."""
    if not root.is_dir():
        return None
    existing = [d for d in root.iterdir() if d.name.isdigit() and has_shard(d)]  # not a copy under way
    return max(existing, key=read_applied_seq, default=None)


def copy_shard(source: Path, target: Path) -> None:
    """`target` becomes a copy of `source`, replacing what was there, without ever being partial."""
    temporary = target.with_name(f".{target.name}.copying")
    shutil.rmtree(temporary, ignore_errors=True)
    shutil.copytree(source, temporary)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(temporary, target)


def prepare_replicas(root: Path, count: int, in_process: Path | None) -> list[Path]:
    """Replica directories `root/0..count-1`, made consistent before any worker opens them: a
    replica that is missing or behind the most advanced one (by its applied sequence) becomes a
    copy of it. With no replica yet, the store that ran in aidb's process (`in_process`) is moved
    into every replica."""
    dirs = replica_dirs(root, count)
    root.mkdir(parents=True, exist_ok=True)
    leader = leader_replica(root)
    moving_from = in_process if in_process is not None and has_shard(in_process) else None
    if leader is not None and moving_from is not None:
        _report_unused(moving_from, used=root)
        moving_from = None
    source = leader or moving_from
    if source is None:
        return dirs
    if moving_from is not None:
        log.warning("engine_store_moved", source=str(moving_from), target=str(root), replicas=count)
    for replica in dirs:
        if replica == source or (
            has_shard(replica) and read_applied_seq(replica) == read_applied_seq(source)
        ):
            continue
        if moving_from is None:
            log.warning("replica_resync", replica=str(replica), source=str(source))
        copy_shard(source, replica)
    if moving_from is not None:
        shutil.rmtree(moving_from)
    return dirs


def move_into_process(shard: Path, replicas_root: Path) -> None:
    """Before aidb's process opens `shard`: a store that ran in replica workers (under
    `replicas_root`) is moved into it, from the replica that applied the most writes."""
    leader = leader_replica(replicas_root)
    if has_shard(shard):
        if leader is not None:
            _report_unused(replicas_root, used=shard)
        return
    if leader is None:
        return
    log.warning("engine_store_moved", source=str(leader), target=str(shard), replicas=0)
    copy_shard(leader, shard)
    # The replicas' write sequence means nothing here; a later move back starts it afresh.
    (shard / SEQ_FILE).unlink(missing_ok=True)
    shutil.rmtree(replicas_root)


def _report_unused(unused: Path, used: Path) -> None:
    # Both places hold a copy: an interrupted move (equal copies) or a store moved before moves
    # removed their source. Which is newer is unknown, so nothing is deleted.
    log.warning(
        "engine_store_copy_unused",
        unused=str(unused),
        used=str(used),
        hint="remove the unused copy; if it held newer writes, run reindex",
    )
