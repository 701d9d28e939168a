"""Rendering an explanation for a person at a terminal.

Every text that comes from a record file or a rulebook is escaped: a source or
record id such as ``court[/]`` is shown as written, never read as console markup.
"""

from __future__ import annotations

from rich.table import Table

from credo.cli.console import out, shown
from credo.domain.explanation import Explanation
from credo.domain.identifiers import mask_identifier

__all__ = ["render_explanation"]


def _points(hundredths: int) -> str:
    return f"{hundredths / 100:+.2f}"


def _standing(e: Explanation) -> str:
    if e.score is None or e.grade is None:
        return "[bold]not scored[/]: the rulebook scores persons only with their consent, and it is not given"
    return f"score [bold]{e.score}[/], grade [bold]{shown(e.grade)}[/]"


def render_explanation(e: Explanation) -> None:
    out.print(
        f"[bold]{shown(mask_identifier(e.subject_id))}[/] ({shown(e.subject_kind)}) as of {e.as_of}: "
        f"{_standing(e)}  "
        f"(rulebook {shown(e.rulebook)} {shown(e.rulebook_version)}, base {e.base})"
    )
    dims = Table(title="Dimensions", title_justify="left")
    for col in ("dimension", "before clamp", "range", "counts"):
        dims.add_column(col, justify="right" if col != "dimension" else "left")
    for d in e.dimensions:
        dims.add_row(shown(d.name), _points(d.raw), shown(f"[{d.min}, {d.max}]"), _points(d.total))
    out.print(dims)

    counting = sorted((c for c in e.contributions if c.counting), key=lambda c: (c.occurred_on, c.source, c.record_id))
    records = Table(title="Records that count", title_justify="left")
    for col in ("record", "category", "occurred", "n", "points", "until", "why"):
        records.add_column(col, justify="right" if col in ("n", "points") else "left")
    for c in counting:
        weight = f" × {c.decay_weight:.3f}" if c.decay_weight not in (None, 1.0) else ""
        records.add_row(
            shown(f"{c.source}/{c.record_id}"),
            shown(c.category),
            c.occurred_on.isoformat(),
            str(c.occurrence),
            _points(c.contribution),
            str(c.counts_until),
            shown(f"{c.effective_points} pts{weight}; {c.note}"),
        )
    out.print(records if counting else "[bold]Records that count:[/] none")
    quiet = [c for c in e.contributions if not c.counting]
    if quiet or e.ignored:
        out.print(f"[bold]Records that do not count[/] ({len(quiet) + len(e.ignored)}):")
        for c in sorted(quiet, key=lambda c: c.occurred_on, reverse=True):
            out.print(shown(f"  {c.occurred_on} {c.category} {c.source}/{c.record_id}: {c.note}"), soft_wrap=True)
        for i in e.ignored:
            out.print(shown(f"  {i.occurred_on} {i.category} {i.source}/{i.record_id}: {i.why}"), soft_wrap=True)

    for title, verdicts in (("Lists", e.lists), ("Measures", e.measures)):
        out.print(f"[bold]{title}:[/] " + (shown("; ".join(f"{v.id} ({v.why})" for v in verdicts)) or "none"))
    out.print("[bold]Reasons:[/]" + ("" if e.reasons else " none"))
    for rank, reason in enumerate(e.reasons, 1):
        out.print(shown(f"  {rank}. {reason.code}: {reason.text}"))
    quiet_future = "" if e.forecast else " no record is due to stop counting"
    out.print("[bold]Forecast[/] (if nothing new happens):" + quiet_future)
    for point in e.forecast:
        ending = len(point.records_ending)
        out.print(
            shown(f"  from {point.on}: score {point.score}, grade {point.grade} ({ending} record(s) stop counting)")
        )
