"""Gap analysis: for each prefecture × topic × hour of a week, how many fitting services are open.

A service counts for a prefecture when everyone living there may use it (national or
prefecture-wide areas; a municipal service helps only part of it) and when it is admitted by
the rules that hold for that prefecture, topic and hour. It counts for an hour when a person
can reach someone through it (phone, chat, visit) at some moment of that hour. Emergency
numbers and web directories are left out: they would hide every gap.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from resources.catalog import Catalog
from resources.model import TOPICS, AreaLevel, ContactKind, Service, ServiceKind
from resources.schedule import TOKYO
from routing.candidates import TALK_KINDS, index_for, is_campaign_only
from routing.model import RoutingRequest
from routing.rules import RuleSet

HOURS = 168
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DAY_NAMES_JA = "月火水木金土日"
ALL_PREFECTURES = tuple(f"{i:02d}" for i in range(1, 48))
_REACH = TALK_KINDS | {ContactKind.IN_PERSON}
_SAMPLES = (0, 20, 40)
"""Minutes of each hour at which openness is looked at."""


@dataclass(frozen=True, slots=True)
class GapReport:
    week_start: date
    """The Monday of the week the hours were computed for (holidays and closures included)."""
    prefectures: tuple[str, ...]
    prefecture_names: dict[str, str]
    topics: tuple[str, ...]
    counts: dict[tuple[str, str], tuple[int, ...]]
    """(prefecture, topic) → open services for each of the 168 hours, Monday 00:00 first."""

    def empty_hours(self, prefecture: str, topic: str) -> list[int]:
        return [h for h, n in enumerate(self.counts[(prefecture, topic)]) if n == 0]

    def hour_start(self, hour: int) -> datetime:
        return datetime.combine(self.week_start, datetime.min.time(), TOKYO) + timedelta(hours=hour)


def _week_mask(service: Service, week: datetime) -> int:
    """Bit h set when some contact point that reaches a person is open in hour h of the week."""
    mask = 0
    contacts = [c for c in service.contacts if c.kind in _REACH and c.hours.known]
    if not contacts:
        return 0
    for h in range(HOURS):
        start = week + timedelta(hours=h)
        if any(c.hours.is_open(start + timedelta(minutes=m)) for m in _SAMPLES for c in contacts):
            mask |= 1 << h
    return mask


def _serves_whole(service: Service, prefecture: str) -> bool:
    for area in service.areas:
        if area.level is AreaLevel.NATIONAL:
            return True
        if area.level is AreaLevel.PREFECTURE and area.code == prefecture:
            return True
    return False


def analyse_gaps(
    catalog: Catalog,
    ruleset: RuleSet,
    week_of: date,
    prefectures: Sequence[str] | None = None,
    topics: Sequence[str] = TOPICS,
) -> GapReport:
    """Counts for the week (Monday to Sunday) containing `week_of`."""
    monday = week_of - timedelta(days=week_of.weekday())
    week = datetime.combine(monday, datetime.min.time(), TOKYO)
    prefs = tuple(prefectures) if prefectures is not None else ALL_PREFECTURES
    entries = index_for(catalog).by_id
    masks: dict[str, int] = {}
    relevant = [
        s
        for s in catalog.services
        if s.kind not in (ServiceKind.EMERGENCY, ServiceKind.DIRECTORY)
        and (s.status == "active" or is_campaign_only(s))
    ]
    for s in relevant:
        masks[s.id] = _week_mask(s, week)
    # rules depend on the hour only through their time windows: group the hours that look alike
    timed = [r.when.time for r in ruleset.rules if r.when.time]
    groups: dict[tuple[bool, ...], list[int]] = {}
    for h in range(HOURS):
        at = week + timedelta(hours=h)
        groups.setdefault(tuple(any(w.contains(at) for w in ws) for ws in timed), []).append(h)
    counts: dict[tuple[str, str], tuple[int, ...]] = {}
    for pref in prefs:
        in_area = [s for s in relevant if _serves_whole(s, pref) and masks[s.id]]
        for topic in topics:
            fitting = [s for s in in_area if topic in s.topics]
            request = RoutingRequest(topics=(topic,), prefecture=pref)  # type: ignore[arg-type]
            row = [0] * HOURS
            for hours in groups.values():
                policy = ruleset.policy_for(request, week + timedelta(hours=hours[0]))
                admitted = [masks[s.id] for s in fitting if policy.admits(entries[s.id])]
                for h in hours:
                    row[h] = sum(1 for m in admitted if m >> h & 1)
            counts[(pref, topic)] = tuple(row)
    names = {code: p.name_ja for code, p in catalog.prefectures.items()}
    return GapReport(monday, prefs, names, tuple(topics), counts)


# ---------------------------------------------------------------- formats
def _ranges(hours: Iterable[int]) -> list[tuple[int, int]]:
    """Consecutive hours as (first, last + 1) ranges."""
    spans: list[tuple[int, int]] = []
    for h in hours:
        if spans and spans[-1][1] == h:
            spans[-1] = (spans[-1][0], h + 1)
        else:
            spans.append((h, h + 1))
    return spans


def describe_hours(hours: Iterable[int]) -> str:
    """'Mon 00–09, Sat 00–Sun 24' for the hours of the week given."""
    parts = []
    for start, end in _ranges(hours):
        d1, h1 = divmod(start, 24)
        d2, h2 = divmod(end, 24)
        if h2 == 0:
            d2, h2 = d2 - 1, 24
        left = f"{DAY_NAMES[d1]} {h1:02d}"
        right = f"{h2:02d}" if d1 == d2 else f"{DAY_NAMES[d2]} {h2:02d}"
        parts.append(f"{left}–{right}")
    return ", ".join(parts)


def gap_rows(report: GapReport) -> list[tuple[str, str, int, str]]:
    """(topic, prefectures, hours with nothing open, when) — prefectures sharing a pattern together."""
    rows = []
    for topic in report.topics:
        by_pattern: dict[tuple[int, ...], list[str]] = {}
        for pref in report.prefectures:
            empty = tuple(report.empty_hours(pref, topic))
            if empty:
                by_pattern.setdefault(empty, []).append(pref)
        for pattern, prefs in sorted(by_pattern.items(), key=lambda kv: -len(kv[0])):
            where = _which(prefs, report.prefectures)
            rows.append((topic, where, len(pattern), describe_hours(pattern)))
    return sorted(rows, key=lambda r: (-r[2], r[0]))


def _which(prefs: Sequence[str], every: Sequence[str]) -> str:
    """'all 47', 'all but 13 27' or '13 27': whichever is shorter to read."""
    if len(prefs) == len(every) and len(prefs) > 1:
        return f"all {len(prefs)}"
    others = [p for p in every if p not in prefs]
    if len(prefs) > len(every) / 2 and len(prefs) > 3:
        return "all but " + " ".join(others)
    return " ".join(prefs)


def render_table(report: GapReport) -> str:
    rows = gap_rows(report)
    header = (
        f"Hours with no fitting service open, week of {report.week_start.isoformat()} (Asia/Tokyo)"
    )
    if not rows:
        return (
            header
            + "\nNo gaps: every topic has a service open at every hour in every prefecture.\n"
        )
    widths = [
        max(len("topic"), *(len(r[0]) for r in rows)),
        max(len("prefectures"), *(len(r[1]) for r in rows)),
    ]
    lines = [header, f"{'topic':<{widths[0]}}  {'prefectures':<{widths[1]}}  hours  when"]
    for topic, where, n, when in rows:
        lines.append(f"{topic:<{widths[0]}}  {where:<{widths[1]}}  {n:>5}  {when}")
    return "\n".join(lines) + "\n"


def render_csv(report: GapReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["prefecture", "prefecture_name", "topic", "weekday", "hour", "open_services"])
    for pref in report.prefectures:
        name = report.prefecture_names.get(pref, "")
        for topic in report.topics:
            for h, n in enumerate(report.counts[(pref, topic)]):
                writer.writerow([pref, name, topic, DAY_NAMES[h // 24], h % 24, n])
    return out.getvalue()


def _colour(n: int) -> str:
    if n == 0:
        return "#c62828"
    if n == 1:
        return "#f9a825"
    if n == 2:
        return "#fff176"
    return "#66bb6a" if n < 5 else "#2e7d32"


_STYLE = """
body{font-family:system-ui,"Hiragino Sans","Noto Sans JP",sans-serif;margin:1.5rem;color:#222}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
table.heat{border-collapse:collapse;font-size:11px}
table.heat td{width:5px;height:15px;padding:0;border-right:1px solid #fff}
table.heat td.day{border-right:2px solid #333}
table.heat th{text-align:left;font-weight:normal;padding-right:.5rem;white-space:nowrap}
table.heat thead th{text-align:center;border-left:2px solid #333}
table.heat thead th.tick{text-align:left;border-left:1px solid #999;font-size:9px;color:#555}
.legend span{display:inline-block;padding:.1rem .5rem;margin-right:.3rem;border-radius:3px}
table.list{border-collapse:collapse;font-size:13px}
table.list td,table.list th{border-bottom:1px solid #ddd;padding:.25rem .6rem;text-align:left;vertical-align:top}
"""


def _heat_row(label: str, values: Sequence[int], tip: Sequence[str], colour: Sequence[str]) -> str:
    cells = []
    for h, _value in enumerate(values):
        day_end = " class=day" if h % 24 == 23 else ""
        cells.append(
            f'<td{day_end} style="background:{colour[h]}" title="{html.escape(tip[h])}"></td>'
        )
    return f"<tr><th>{html.escape(label)}</th>{''.join(cells)}</tr>"


def _heat_head() -> str:
    days = "".join(f"<th colspan=24>{DAY_NAMES_JA[d]} {DAY_NAMES[d]}</th>" for d in range(7))
    ticks = "".join(f"<th class=tick colspan=6>{h}</th>" for _ in range(7) for h in (0, 6, 12, 18))
    return f"<thead><tr><th></th>{days}</tr><tr><th></th>{ticks}</tr></thead>"


def render_html(report: GapReport) -> str:
    """A self-contained page: where and when nothing fitting is open, as heat maps."""
    from routing.explain import TOPIC_NAMES

    def pref_label(p: str) -> str:
        return f"{p} {report.prefecture_names.get(p, '')}".strip()

    topic_rows = []
    for topic in report.topics:
        worst = [
            min(report.counts[(p, topic)][h] for p in report.prefectures) for h in range(HOURS)
        ]
        tips = []
        for h in range(HOURS):
            at = report.hour_start(h)
            empty = [p for p in report.prefectures if report.counts[(p, topic)][h] == 0]
            where = "" if not empty else (
                f" — nothing open in {len(empty)} prefectures" if len(empty) > 5
                else " — nothing open in " + ", ".join(pref_label(p) for p in empty))  # fmt: skip
            tips.append(f"{topic} {at:%a %H}:00 — at least {worst[h]} open{where}")
        label = f"{TOPIC_NAMES.get(topic, (topic, topic))[0]} ({topic})"
        topic_rows.append(_heat_row(label, worst, tips, [_colour(n) for n in worst]))

    pref_rows = []
    for pref in report.prefectures:
        missing = [
            sum(1 for t in report.topics if report.counts[(pref, t)][h] == 0) for h in range(HOURS)
        ]
        tips = []
        for h in range(HOURS):
            lacking = [t for t in report.topics if report.counts[(pref, t)][h] == 0]
            tips.append(f"{pref_label(pref)} {report.hour_start(h):%a %H}:00 — nothing open for: "
                        + (", ".join(lacking) or "(none)"))  # fmt: skip
        colours = ["#2e7d32" if m == 0 else "#f9a825" if m <= 2 else "#ef6c00" if m <= 6 else "#c62828"
                   for m in missing]  # fmt: skip
        pref_rows.append(_heat_row(pref_label(pref), missing, tips, colours))

    listing = (
        "".join(
            f"<tr><td>{html.escape(t)}</td><td>{html.escape(w)}</td><td>{n}</td><td>{html.escape(when)}</td></tr>"
            for t, w, n, when in gap_rows(report)
        )
        or "<tr><td colspan=4>No gaps.</td></tr>"
    )
    legend = "".join(
        f'<span style="background:{_colour(n)};color:{"#fff" if n in (0, 5) else "#222"}">{label}</span>'
        for n, label in ((0, "0 — nothing open"), (1, "1"), (2, "2"), (3, "3–4"), (5, "5+"))
    )
    return f"""<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>tsunagari — 相談先の空白 (gaps)</title>
<style>{_STYLE}</style></head><body>
<h1>相談先の空白 — where and when nothing fitting is open</h1>
<p>Week of {report.week_start.isoformat()} (Monday to Sunday, Asia/Tokyo, holidays and closures of
that week included). A service counts for a prefecture when everyone there may use it (national or
prefecture-wide) and the active rules admit it; emergency numbers (110/119) and web directories are
not counted. Hover a cell for details.</p>
<h2>By topic: the fewest services open in any prefecture, hour by hour</h2>
<p class=legend>{legend}</p>
<table class=heat>{_heat_head()}{"".join(topic_rows)}</table>
<h2>By prefecture: how many topics have nothing open</h2>
<p class=legend><span style="background:#2e7d32;color:#fff">every topic covered</span>
<span style="background:#f9a825">1–2 topics uncovered</span><span style="background:#ef6c00">3–6</span>
<span style="background:#c62828;color:#fff">7 or more</span></p>
<table class=heat>{_heat_head()}{"".join(pref_rows)}</table>
<h2>Gaps, longest first</h2>
<table class=list><tr><th>topic</th><th>prefectures</th><th>hours</th><th>when (nothing open)</th></tr>
{listing}</table>
</body></html>
"""
