"""The bare baseline: the queue pop as one SQL statement in psycopg, no Django, no HTTP.

The same work next-task does for a new lease (lock the best free task row with ``FOR UPDATE SKIP
LOCKED``, insert the lease, count it on the task), by ``threads`` connections at once, each popping
``rounds`` times. The runner ends the leases it took (:func:`reset_leases`) before the next phase.
"""

from __future__ import annotations

import threading
import time

import psycopg

POP = """
WITH picked AS (
  SELECT t.id, t.round FROM annotate_task t
  WHERE t.project_id = %(project)s AND t.status = 'open' AND t.kind = 'normal'
    AND t.submitted_count < t.required_annotations - t.leased_count
    AND NOT EXISTS (SELECT 1 FROM annotate_assignment a
                    WHERE a.task_id = t.id AND a.annotator_id = %(user)s AND a.round = t.round)
  ORDER BY t.priority DESC, t.id LIMIT 1 FOR UPDATE SKIP LOCKED),
lease AS (
  INSERT INTO annotate_assignment (task_id, annotator_id, status, round, sop_id, leased_at,
                                   lease_expires_at, skip_reason, return_comment)
  SELECT id, %(user)s, 'leased', round, %(sop)s, now(), now() + interval '20 minutes', '', ''
  FROM picked RETURNING task_id)
UPDATE annotate_task SET leased_count = leased_count + 1 WHERE id IN (SELECT task_id FROM lease)
RETURNING id"""


def bare_pops(url: str, project: int, users: list[int], rounds: int) -> list[float]:
    with psycopg.connect(url) as conn:
        sop = conn.execute(
            "SELECT id FROM annotate_sop WHERE project_id = %s AND status = 'published' "
            "ORDER BY version DESC LIMIT 1",
            (project,),
        ).fetchone()
    assert sop is not None, "the load database has no published SOP"
    timings: list[float] = []
    lock = threading.Lock()

    def worker(user: int) -> None:
        mine = []
        with psycopg.connect(url) as conn:
            for _ in range(rounds):
                t0 = time.perf_counter()
                with conn.transaction():
                    conn.execute(POP, {"project": project, "user": user, "sop": sop[0]}).fetchone()
                mine.append(time.perf_counter() - t0)
        with lock:
            timings.extend(mine)

    threads = [threading.Thread(target=worker, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return timings


def reset_leases(url: str, project: int) -> int:
    """Ends every live lease of the project (what a crashed client leaves), so each run starts alike."""
    with psycopg.connect(url) as conn, conn.transaction():
        cur = conn.execute(
            "UPDATE annotate_assignment a SET status = 'expired', finished_at = now() FROM annotate_task t "
            "WHERE a.task_id = t.id AND t.project_id = %s AND a.status = 'leased'",
            (project,),
        )
        n = cur.rowcount
        conn.execute(
            "UPDATE annotate_task SET leased_count = 0 WHERE project_id = %s AND leased_count <> 0",
            (project,),
        )
    return n
