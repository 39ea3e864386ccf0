"""An objection's steps and their deadlines under a policy (DOMAIN.md section 7).

The regulations count each step in working days from the step before it: the platform
compares (or forwards) from the filing, the provider verifies from the forwarding, the
platform tells the applicant from the provider's reply. A step whose text says only
"promptly" has no due date and is never overdue. Dates the official calendar does not
cover yet are counted Monday to Friday and marked approximate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schema.policy import Deadline as DeadlineRule
from schema.policy import Policy
from schema.record_life import deadline
from schema.record_view import as_date


@dataclass(frozen=True)
class Step:
    name: str
    action: str | None
    article: str
    working_days: int | None
    starts_on: dt.date | None  # None: the step before it has not happened
    due: dt.date | None
    approximate: bool
    done_on: dt.date | None
    closed_on: dt.date | None = None  # the objection's resolution, if any

    def overdue_on(self, day: dt.date) -> bool:
        """Not done by ``day`` and its due date has passed (the due day itself is still in
        time). A step done after ``day`` was still undone that day: asked for a past day,
        the answer is what it was then, not what later steps made of it.

        An objection resolved by the due day no longer waits for this step, so the step
        was never missed: flagging it would tell a regulator the provider broke a deadline
        it no longer had (and disagree with ``record_state``, which withholds nothing).
        """
        if self.closed_on is not None and self.due is not None and self.closed_on <= self.due:
            return False
        done = self.done_on is not None and self.done_on <= day
        return not done and self.due is not None and day > self.due

    @property
    def late(self) -> bool:
        """Done, but after its due date."""
        return self.done_on is not None and self.due is not None and self.done_on > self.due


def _step(
    name: str, rule: DeadlineRule, starts: dt.date | None, done: dt.date | None,
    *, days: int | None = None, closed: dt.date | None = None,
) -> Step:
    wd = rule.working_days if days is None else days
    due, approx = None, False
    if starts is not None and wd is not None:
        d = deadline(starts, wd)
        due, approx = d.due, d.approximate
    return Step(name, rule.action, rule.article, wd, starts, due, approx, done, closed)


def provider_working_days(policy: Policy, complex_case: bool) -> int | None:
    """Yangjiang Art. 26 gives complex cases 20 working days instead of 10."""
    rule = policy.objection.provider_verification
    if complex_case and rule.complex_working_days is not None:
        return rule.complex_working_days
    return rule.working_days


def objection_steps(objection: Mapping[str, Any], policy: Policy) -> list[Step]:
    """The steps of one stored objection, with due dates and when each was done.

    A second platform step (Yangjiang Art. 25: check within 3 working days of accepting)
    is counted from the end of the first step's period, as acceptance is not recorded
    apart from forwarding.
    """
    rules = policy.objection
    filed = as_date(objection["filed_on"])
    assert filed is not None
    forwarded = as_date(objection.get("forwarded_on"))
    replied = as_date(objection.get("replied_on"))
    resolved = as_date(objection.get("resolved_on"))
    platform_done = forwarded or resolved
    steps = [_step("first_step", rules.first_step, filed, platform_done, closed=resolved)]
    if rules.second_step is not None:
        after_first = steps[0].due or filed
        steps.append(_step("second_step", rules.second_step, after_first, platform_done,
                           closed=resolved))
    complex_case = bool(objection.get("complex"))
    steps.append(_step(
        "provider_verification", rules.provider_verification, forwarded,
        replied if forwarded else None,
        days=provider_working_days(policy, complex_case), closed=resolved,
    ))
    steps.append(_step("afterwards", rules.afterwards, replied, resolved if replied else None,
                       closed=resolved))
    return steps
