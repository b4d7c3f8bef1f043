"""Files a run produced (source, processed, output), with size, md5 and deliveries."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sqlalchemy import Connection, insert, select, update

from duftui.store.tables import OutputFile
from duftui.store.timestamps import utcnow

OUTPUT = OutputFile.__table__


def file_md5(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def record_output(
    conn: Connection,
    run_id: int,
    path: Path,
    stage: str,
    *,
    size: int | None = None,
    md5: str | None = None,
) -> int:
    """Record one file; size and md5 are computed from disk when not given."""
    if size is None and path.exists():
        size = path.stat().st_size
    if md5 is None and path.is_file():
        md5 = file_md5(path)
    result = conn.execute(
        insert(OUTPUT),
        {
            "run_id": run_id,
            "path": str(path),
            "size": size,
            "md5": md5,
            "stage": stage,
            "created_at": utcnow(),
        },
    )
    return int(result.inserted_primary_key[0])


def outputs_of(conn: Connection, run_id: int) -> list[OutputFile]:
    rows = conn.execute(
        select(OUTPUT).where(OUTPUT.c.run_id == run_id).order_by(OUTPUT.c.id)
    ).mappings()
    return [OutputFile.model_validate(dict(row)) for row in rows]


def add_delivery(conn: Connection, output_id: int, target: str) -> None:
    row = conn.execute(select(OUTPUT.c.delivered_to).where(OUTPUT.c.id == output_id)).first()
    if row is None:
        return
    targets = json.loads(row[0] or "[]")
    if target not in targets:
        targets.append(target)
    conn.execute(
        update(OUTPUT).where(OUTPUT.c.id == output_id).values(delivered_to=json.dumps(targets))
    )
