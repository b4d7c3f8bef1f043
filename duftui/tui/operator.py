"""Operator actions from the console, as plain blocking functions (run in thread workers).

Every action goes through the engine's own functions (`submit_task`, `engine.control`),
which write the audit table with the OS user. After a change, a live daemon is poked so it
reacts at once; without one, the caller starts the console's embedded supervisor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from duftui.engine import control
from duftui.engine.control import ControlError, ControlResult
from duftui.engine.params import ParamError
from duftui.engine.submit import SubmitError, submit_project, submit_task
from duftui.engine.wake import poke
from duftui.schedule.lease import daemon_alive
from duftui.store.states import Trigger
from duftui.tui.session import Session

ActionError = (ControlError, SubmitError, ParamError)


@dataclass
class Outcome:
    """What an action did, in words for a notification, and whether runs need executing."""

    message: str
    run_ids: list[int] = field(default_factory=list)
    needs_runner: bool = False
    errors: list[str] = field(default_factory=list)


class Operator:
    """Runs, cancels and retries on behalf of the console's user."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _daemon_alive(self) -> bool:
        with self.session.store().read() as conn:
            return daemon_alive(conn) is not None

    def _after_change(self, outcome: Outcome, queued: bool) -> Outcome:
        """Wake the daemon when one runs; otherwise say that the console must run it."""
        if self._daemon_alive():
            poke(self.session.workspace)
        elif queued:
            outcome.needs_runner = True
        return outcome

    def run_task(self, key: str, overrides: dict[str, Any] | None = None) -> Outcome:
        submitted = submit_task(
            self.session.store(),
            self.session.catalogue(),
            key,
            trigger=Trigger.MANUAL,
            requested_by=self.session.user,
            overrides=overrides or None,
            secrets=self.session.ctx.secrets(),
        )
        first = submitted.run_ids[0]
        more = len(submitted.planned) - 1
        extra = f" (+{more} dependant{'s' if more != 1 else ''} planned)" if more > 0 else ""
        outcome = Outcome(f"queued run #{first} of {key}{extra}", list(submitted.run_ids))
        return self._after_change(outcome, queued=True)

    def run_project(self, project: str) -> Outcome:
        submitted = submit_project(
            self.session.store(),
            self.session.catalogue(),
            project,
            trigger=Trigger.MANUAL,
            requested_by=self.session.user,
            secrets=self.session.ctx.secrets(),
        )
        outcome = Outcome(
            f"queued project {project}: {', '.join(submitted.planned)}", list(submitted.run_ids)
        )
        return self._after_change(outcome, queued=True)

    def _each(
        self,
        run_ids: Sequence[int],
        action: Callable[[Connection, int], ControlResult],
        verb: str,
        queues: bool,
    ) -> Outcome:
        """Apply one control action to several runs; one transaction per run, so one
        refusal (a run that already ended) does not undo the others."""
        done: list[ControlResult] = []
        errors: list[str] = []
        for run_id in run_ids:
            try:
                with self.session.store().write() as conn:
                    done.append(action(conn, run_id))
            except ControlError as exc:
                errors.append(str(exc))
        if len(done) == 1 and not errors:
            message = done[0].message
        elif done:
            message = f"{verb} {len(done)} run{'s' if len(done) != 1 else ''}"
            if errors:
                message += f"; {len(errors)} skipped"
        else:
            message = errors[0] if len(errors) == 1 else f"nothing to {verb.split()[0]}"
        outcome = Outcome(message, [r.run_id for r in done], errors=errors)
        if done:
            self._after_change(outcome, queued=queues)
        return outcome

    def cancel(self, run_ids: Sequence[int], reason: str | None = None) -> Outcome:
        catalogue = self.session.catalogue()
        user = self.session.user
        return self._each(
            run_ids,
            lambda conn, rid: control.cancel(conn, catalogue, rid, user=user, reason=reason),
            "cancelled",
            queues=False,
        )

    def retry(self, run_ids: Sequence[int]) -> Outcome:
        catalogue = self.session.catalogue()
        user = self.session.user
        return self._each(
            run_ids,
            lambda conn, rid: control.retry_now(conn, catalogue, rid, user=user),
            "queued again",
            queues=True,
        )

    def cancel_retry(self, run_ids: Sequence[int]) -> Outcome:
        catalogue = self.session.catalogue()
        user = self.session.user
        return self._each(
            run_ids,
            lambda conn, rid: control.cancel_retry(conn, catalogue, rid, user=user),
            "cancelled the retries of",
            queues=False,
        )

    def acknowledge(self, run_ids: Sequence[int]) -> Outcome:
        user = self.session.user
        return self._each(
            run_ids,
            lambda conn, rid: control.acknowledge_dead(conn, rid, user=user),
            "acknowledged",
            queues=False,
        )
