"""Patterns worth acting on, found in a report, each with its evidence."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import attrs

from serviceplaybook._errors import ConfigError
from serviceplaybook.insights._report import EscalationWeek, Figures, Pattern, Report


def _percent(value: float) -> str:
    return f"{round(value * 100)}%"


def previous_week(week: str) -> str:
    """The ISO week before ``week`` (``"2026-W01"`` -> ``"2025-W53"`` or ``"2025-W52"``)."""
    year, number = week.split("-W")
    monday = date.fromisocalendar(int(year), int(number), 1) - timedelta(days=7)
    y, w, _ = monday.isocalendar()
    return f"{y}-W{w:02d}"


def poisson_tail(count: int, mean: float) -> float:
    """The chance of ``count`` or more events when ``mean`` are expected (Poisson), summed
    from ``count`` up so that a tiny chance keeps its digits."""
    if count <= 0:
        return 1.0
    term = math.exp(count * math.log(mean) - mean - math.lgamma(count + 1))
    total = 0.0
    k = count
    while term > total * 1e-17 or k < mean:
        total += term
        k += 1
        term *= mean / k
    return min(1.0, total)


def _chance(value: float) -> str:
    return "below one in a million" if value < 1e-6 else f"{value:.2g}"


def _positive(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigError(
            f"PatternFinder.{attribute.name} must be a positive number, got {value!r}"
        )


@attrs.define(kw_only=True)
class PatternFinder:
    """Finds the patterns of a report. Each kind of pattern is one method, so an integrator
    changes one rule by overriding it (or a threshold by passing it).

    Attributes:
        surge_factor: a category's escalations in a week at least this many times its weekly
            average before are a surge...
        min_escalations: ...with at least this many escalations in its week...
        baseline_weeks: ...the average taken over up to this many weeks before it...
        significance: ...and so many escalations less likely than this at that average.
        low_acceptance: an offer kind accepted less often than this share is flagged.
        min_offers: ...when at least this many offers of the kind were proposed.
        outlier_factor: a category's reopen rate, or an agent's apologies per conversation,
            at least this many times the overall figure is flagged.
        min_conversations: an outlier needs at least this many conversations behind it.

    Raises:
        ConfigError: a threshold that is not a positive number.
    """

    surge_factor: float = attrs.field(default=2.0, validator=_positive)
    min_escalations: int = attrs.field(default=5, validator=_positive)
    baseline_weeks: int = attrs.field(default=4, validator=_positive)
    significance: float = attrs.field(default=0.01, validator=_positive)
    low_acceptance: float = attrs.field(default=0.3, validator=_positive)
    min_offers: int = attrs.field(default=5, validator=_positive)
    outlier_factor: float = attrs.field(default=2.0, validator=_positive)
    min_conversations: int = attrs.field(default=5, validator=_positive)

    def find(self, report: Report) -> list[Pattern]:
        """Every pattern of ``report``: surges, then offers, reopens and apologies."""
        return [
            *self.escalation_surges(report),
            *self.low_acceptance_offers(report),
            *self.reopen_outliers(report),
            *self.apology_outliers(report),
        ]

    def escalation_surges(self, report: Report) -> list[Pattern]:
        """A category whose escalations in a week jumped: at least :attr:`surge_factor`
        times its weekly average over the (up to :attr:`baseline_weeks`) weeks before, and
        too many for chance at that average (a Poisson tail below :attr:`significance`);
        with the share that came after the customer declined an offer, and the kind they
        declined most."""
        if not report.by_week:
            return []
        first_week = min(report.by_week)
        counts: Mapping[tuple[str, str], EscalationWeek] = {
            (w.category, w.week): w for w in report.escalation_weeks
        }
        found = []
        for (category, week), this in counts.items():
            if this.escalations < self.min_escalations:
                continue
            before = []
            earlier = week
            for _ in range(self.baseline_weeks):
                earlier = previous_week(earlier)
                if earlier < first_week:
                    break
                seen = counts.get((category, earlier))
                before.append((earlier, seen.escalations if seen is not None else 0))
            if len(before) < min(2, self.baseline_weeks):
                continue  # too few weeks before it in the data to know the usual rate
            average = sum(n for _, n in before) / len(before)
            if this.escalations < self.surge_factor * max(average, 1.0):
                continue
            chance = poisson_tail(this.escalations, max(average, 0.5))
            if chance >= self.significance:
                continue
            found.append(self._surge(this, before[::-1], average, chance))
        return found

    def _surge(
        self, this: EscalationWeek, before: list[tuple[str, int]], average: float, chance: float
    ) -> Pattern:
        ratio = this.escalations / average if average else None
        if ratio is None:
            rise = "rose from none"
        elif ratio < 3:
            rise = "doubled"
        else:
            rise = f"rose {ratio:.1f}-fold"
        weeks = "the week before" if len(before) == 1 else f"the {len(before)} weeks before"
        text = (
            f"{this.category} escalations {rise} in week {this.week}: {this.escalations}, "
            f"against {average:.1f} a week in {weeks}"
        )
        evidence = [f"week {week}: {n} escalations" for week, n in before]
        evidence.append(f"week {this.week}: {this.escalations} escalations")
        after = sum(this.after_decline.values())
        if after:
            kind, most = max(this.after_decline.items(), key=lambda item: (item[1], item[0]))
            text += f"; {_percent(most / this.escalations)} after a declined {kind}"
            evidence.append(
                f"{after} of {this.escalations} came after the customer declined an offer: "
                + ", ".join(f"{k} {n}" for k, n in sorted(this.after_decline.items()))
            )
        evidence.append(
            f"chance of {this.escalations} or more at the usual rate: {_chance(chance)}"
        )
        return Pattern(
            code="escalation_surge",
            subject=this.category,
            text=text,
            evidence=tuple(evidence),
        )

    def low_acceptance_offers(self, report: Report) -> list[Pattern]:
        """An offer kind customers seldom accept: what agents propose does not land."""
        found = []
        for offer in report.offers.values():
            acceptance = offer.acceptance
            if offer.proposed < self.min_offers or acceptance is None:
                continue
            if acceptance >= self.low_acceptance:
                continue
            found.append(
                Pattern(
                    code="low_acceptance",
                    subject=offer.kind,
                    text=f"{offer.kind} offers were accepted {_percent(acceptance)} of the time "
                    f"({offer.accepted} of {offer.proposed}); {offer.declined} declined",
                    evidence=(
                        f"proposed {offer.proposed}, accepted {offer.accepted}, declined "
                        f"{offer.declined}, undecided {offer.undecided}",
                        f"flagged below {_percent(self.low_acceptance)} acceptance",
                    ),
                )
            )
        return found

    def _outliers(
        self,
        groups: Mapping[str, Figures],
        overall: float | None,
        value: str,
        size: str,
    ) -> list[tuple[str, Figures, float, float]]:
        if not overall:
            return []
        found = []
        for name, figures in groups.items():
            mine = getattr(figures, value)
            if getattr(figures, size) < self.min_conversations or mine is None:
                continue
            if mine >= self.outlier_factor * overall:
                found.append((name, figures, mine, mine / overall))
        return found

    def reopen_outliers(self, report: Report) -> list[Pattern]:
        """A category whose resolutions do not hold: reopened far more often than overall."""
        overall = report.overall.reopen_rate
        return [
            Pattern(
                code="reopen_outlier",
                subject=name,
                text=f"{name} conversations were reopened {_percent(rate)} of the time, "
                f"{factor:.1f} times the {_percent(overall or 0)} overall",
                evidence=(
                    f"{figures.reopened} of {figures.resolved} resolved {name} conversations "
                    f"reopened",
                    f"overall: {report.overall.reopened} of {report.overall.resolved}",
                ),
            )
            for name, figures, rate, factor in self._outliers(
                report.by_category, overall, "reopen_rate", "resolved"
            )
        ]

    def apology_outliers(self, report: Report) -> list[Pattern]:
        """An agent who apologizes far more than the team: repeated apologies ring false."""
        overall = report.overall.apologies_per_conversation
        return [
            Pattern(
                code="apology_outlier",
                subject=name,
                text=f"agent {name} gave {rate:.1f} apologies per conversation, "
                f"{factor:.1f} times the team's {overall or 0:.1f}",
                evidence=(
                    f"{figures.apologies} apologies in {figures.conversations} conversations",
                    f"team: {report.overall.apologies} in {report.overall.conversations}",
                ),
            )
            for name, figures, rate, factor in self._outliers(
                report.by_agent, overall, "apologies_per_conversation", "conversations"
            )
        ]
