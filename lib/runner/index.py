"""`reports/index.html`: the dashboard — per study, this run's headline metrics against the original study's claims
and this casebook's goals (`configs/reference.yaml`), and per notebook its data, main figure, both views and its
duration against the profile's budget. Self-contained (inline CSS, thumbnails as files under `reports/thumbs/`), and
it still renders when metrics files or executed notebooks are missing (a notebook not run yet, or failed)."""
from __future__ import annotations

import base64
import html
import io
import json
import math
from numbers import Real
from pathlib import Path
from typing import Any

from lib.runner.reference import budgets_for, load_reference

THUMB_SIZE = (480, 300)  # pixels, at most (shown at half size: sharp on high-density screens)
VERDICTS = ("met", "not met", "no data", "no goal")

_CSS = """
*{box-sizing:border-box} body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d232a;
background:#f6f7f9;font-size:15px;line-height:1.4} main{max-width:1320px;margin:0 auto;padding:1.5rem 2rem 3rem}
h1{margin:0 0 .3rem;font-size:1.7rem} h2{margin:0 0 .2rem;font-size:1.25rem} a{color:#1a5fb4}
.meta{color:#4b5560;margin-bottom:.8rem} .meta b{color:#1d232a}
.chips{display:flex;flex-wrap:wrap;gap:.5rem;margin:.6rem 0 1.2rem} .chip{background:#fff;border:1px solid #dde2e6;
border-radius:999px;padding:.2rem .75rem;font-size:.9rem} .chip a{text-decoration:none}
section{background:#fff;border:1px solid #dde2e6;border-radius:10px;padding:1.1rem 1.3rem;margin-bottom:1.4rem}
.sub{color:#5b6570;font-size:.9rem;margin-bottom:.8rem} .warn{background:#fff4ce;border-radius:4px;padding:.1rem .4rem}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:.9rem;margin-bottom:1rem}
.card{border:1px solid #dde2e6;border-radius:8px;overflow:hidden;display:flex;flex-direction:column;background:#fcfcfd}
.card.failed{border-color:#e0a8a3} .thumb{display:block;height:150px;background:#fff;border-bottom:1px solid #eef0f2}
.thumb img{width:100%;height:150px;object-fit:contain;display:block} .nothumb{height:150px;display:flex;
align-items:center;justify-content:center;color:#8a939c;font-size:.85rem;background:#f3f5f7;border-bottom:1px solid #eef0f2}
.body{padding:.55rem .7rem;display:flex;flex-direction:column;gap:.28rem;font-size:.88rem}
.nb{font-weight:600;font-size:.95rem;word-break:break-word} .head{display:flex;gap:.4rem;align-items:baseline;flex-wrap:wrap}
.row{display:grid;grid-template-columns:2.9rem 1fr;gap:.3rem;align-items:baseline} .k{color:#5b6570}
.split{display:grid;grid-template-columns:310px 1fr;gap:1rem;align-items:start} .split .cards{display:block;margin:0}
@media (max-width:800px){.split{grid-template-columns:1fr} main{padding:1rem}} .bar{height:6px;background:#e6e9ec;border-radius:3px;overflow:hidden;margin-top:2px}
.bar i{display:block;height:100%;background:#3d8b5a} .bar.over i{background:#c0392b}
table{border-collapse:collapse;width:100%;font-size:.9rem} th,td{border-bottom:1px solid #e6e9ec;padding:.4rem .5rem;
text-align:left;vertical-align:top} th{background:#f3f5f7;font-weight:600;white-space:nowrap}
td.num{white-space:nowrap;font-variant-numeric:tabular-nums;font-weight:600} td small,.body small{color:#5b6570}
td code,.body code{font-size:.82em;color:#5b6570} td.src{max-width:330px}
.badge{display:inline-block;border-radius:4px;padding:.05rem .45rem;font-size:.8rem;font-weight:600;white-space:nowrap}
.b-met,.ok{background:#d7f5dd;color:#0f5c26} .b-notmet,.failed-b,.over{background:#fbd9d5;color:#8c1d13}
.b-nodata{background:#eceef1;color:#4b5560} .nogoal{color:#8a939c;font-size:.8rem}
.kept,.earlier{background:#dde7f7;color:#2b4a7a} .skipped,.notrun{background:#fff0c2;color:#6b5200}
.demo{background:#fff4ce;border-radius:3px;padding:0 .3rem} .real{background:#d7f5dd;border-radius:3px;padding:0 .3rem}
.err{color:#8c1d13;font-size:.8rem;white-space:pre-wrap;word-break:break-word;max-height:6.5em;overflow:auto}
details summary{cursor:pointer;color:#1a5fb4;font-size:.85rem} .hl{columns:2;font-size:.8rem;margin:.3rem 0 0;padding:0;
list-style:none} .hl li{break-inside:avoid}
"""


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and not math.isnan(float(value))


def verdict(value: Any, goal: Any, direction: str) -> str:
    """"met", "not met", "no data" (no numeric value this run) or "no goal" (none set); a tie counts as met."""
    if not _is_number(value):
        return "no data"
    if not _is_number(goal):
        return "no goal"
    if direction == ">=":
        return "met" if value >= goal else "not met"
    if direction == "<=":
        return "met" if value <= goal else "not met"
    raise ValueError(f"direction must be '>=' or '<=', got {direction!r}")


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:.3g}"
        if 0 < abs(value) < 0.01:
            return f"{value:.2g}"
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return str(value)


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 120:
        return f"{value / 60:.1f} min"
    return f"{value:.0f} s" if value >= 10 else f"{value:.1f} s"


def first_png(executed: Path) -> bytes | None:
    """The first PNG output of an executed notebook (None when it has none or cannot be read)."""
    try:
        nb = json.loads(executed.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) or []:
            data = (out.get("data") or {}).get("image/png")
            if data:
                try:
                    return base64.b64decode("".join(data) if isinstance(data, list) else data)
                except ValueError:
                    continue
    return None


def write_thumbnail(executed: Path, out: Path, size: tuple[int, int] = THUMB_SIZE) -> Path | None:
    """A small PNG of the notebook's main (first) figure at `out`; None, and no stale file, when there is none."""
    png = first_png(executed) if executed.is_file() else None
    if png is None:
        out.unlink(missing_ok=True)
        return None
    from PIL import Image

    try:
        image = Image.open(io.BytesIO(png))
        image.thumbnail(size)
        out.parent.mkdir(parents=True, exist_ok=True)
        image.save(out, format="PNG", optimize=True)
    except (OSError, ValueError):
        out.unlink(missing_ok=True)
        return None
    return out


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (OSError, ValueError):
        return None


def _entries(reports: Path, manifest: dict[str, Any], ref: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every notebook to show: this run's (the manifest), then earlier runs' (metrics files, run_state.json), then the
    reference's notebooks that have neither (not run yet). Each with its budget on the profile it ran with."""
    state = _read_json(reports / "run_state.json") or {}
    profile = manifest.get("profile")
    out: dict[str, dict[str, Any]] = {}
    for entry in manifest.get("notebooks", []):
        e = dict(entry)
        e.setdefault("profile", profile)
        if e.get("budget_s") is None:
            e["budget_s"] = budgets_for(ref, profile).get(e["name"])
        out.setdefault(e["name"], e)
    names = {p.stem for p in (reports / "metrics").glob("[0-9][0-9]_*.json")} | set(state)
    names |= {nb for study in ref.get("studies", []) for nb in study.get("notebooks", [])}
    for name in sorted(names - set(out)):
        last = state.get(name) or {}
        if last or (reports / "metrics" / f"{name}.json").exists():
            e = {"status": "earlier run", "duration_s": last.get("duration_s"), "profile": last.get("profile"),
                 "finished_at": last.get("finished_at"), "error": None,
                 "reason": "not part of this run" + (f"; last run {last['status']}" if last.get("status") else "")}
        else:
            e = {"status": "not run", "duration_s": None, "profile": profile, "error": None, "reason": None}
        e.update(number=name[:2], name=name)
        out[name] = e
    for name, e in out.items():
        metrics = _read_json(reports / "metrics" / f"{name}.json")
        e["metrics"] = metrics
        if e.get("profile") is None and metrics:
            e["profile"] = metrics.get("profile")
        if e.get("budget_s") is None:
            e["budget_s"] = budgets_for(ref, e.get("profile")).get(name)
        e["over_budget"] = (e["budget_s"] is not None and e.get("duration_s") is not None
                            and e["status"] not in ("skipped", "not run") and e["duration_s"] > e["budget_s"])
        e["thumb"] = write_thumbnail(reports / "executed" / f"{name}.ipynb", reports / "thumbs" / f"{name}.png")
    return dict(sorted(out.items()))


def _data_html(metrics: dict[str, Any] | None) -> str:
    data = (metrics or {}).get("data") or {}
    if not data:
        return "—"
    kind = str(data.get("source", "?"))
    label = "demo (synthetic)" if kind == "demo" else kind
    sizes = [f"{k[2:].replace('_', ' ')} {v:,}" for k, v in data.items()
             if k.startswith("n_") and isinstance(v, int) and not isinstance(v, bool)]
    return (f'<span class="{html.escape(kind)}">{html.escape(label)}</span> {html.escape(str(data.get("name", "")))}'
            + (f"<br><small>{html.escape(' · '.join(sizes))}</small>" if sizes else ""))


def _time_html(e: dict[str, Any]) -> str:
    dur, budget = e.get("duration_s"), e.get("budget_s")
    if e["status"] == "not run":
        return "—" + (f" <small>(budget {_seconds(budget)})</small>" if budget else "")
    text = _seconds(dur)
    if budget is None:
        return text + (f" <small>(no {html.escape(str(e.get('profile')))} budget)</small>" if dur is not None else "")
    share = 0.0 if dur is None else dur / budget
    flag = (f' <span class="badge over" title="over its {html.escape(str(e.get("profile")))} budget">over budget '
            f'+{_seconds(dur - budget)}</span>' if e["over_budget"] else "")
    return (f"{text} <small>of {_seconds(budget)} ({html.escape(str(e.get('profile')))})</small>{flag}"
            f'<div class="bar{" over" if e["over_budget"] else ""}"><i style="width:{min(share, 1) * 100:.0f}%">'
            f"</i></div>")


_STATUS_CLASS = {"ok": "ok", "failed": "failed-b", "skipped": "skipped", "kept": "kept", "earlier run": "earlier",
                 "not run": "notrun"}


def _card(e: dict[str, Any], reports: Path) -> str:
    name = e["name"]
    report = reports / f"{name}.html"
    view = reports / "notebooks" / f"{name}.html"
    esc = html.escape(name)
    img = (f'<img src="thumbs/{esc}.png" alt="main figure of {esc}" loading="lazy">' if e.get("thumb") else None)
    if img and report.exists():
        thumb = f'<a class="thumb" href="{esc}.html" title="open the report">{img}</a>'
    elif img:
        thumb = f'<div class="thumb">{img}</div>'
    else:
        thumb = '<div class="nothumb">no figure</div>'
    links = [f'<a href="{esc}.html">report</a>' if report.exists() else "",
             f'<a href="notebooks/{esc}.html">notebook</a>' if view.exists() else ""]
    links = " · ".join(x for x in links if x) or "<small>no report yet</small>"
    status = e["status"]
    when = ""
    metrics = e.get("metrics")
    if status in ("earlier run", "kept") and (e.get("finished_at") or metrics):
        when = str(e.get("finished_at") or (metrics or {}).get("finished_at", ""))[:16].replace("T", " ")
        when = f" <small>{html.escape(when)}</small>"
    notes = ""
    if metrics is None and status in ("ok", "kept", "earlier run"):
        notes += f"<small>no metrics file (<code>metrics/{esc}.json</code>): its figures show as no data</small>"
    if e.get("error"):
        notes += f'<div class="err">{html.escape(str(e["error"])[:600])}</div>'
    if e.get("reason") and status in ("kept", "skipped", "earlier run"):
        notes += f"<small>{html.escape(str(e['reason']))}</small>"
    headline = (metrics or {}).get("headline") or {}
    raw = ""
    if headline:
        items = "".join(f"<li><code>{html.escape(str(k))}</code> {html.escape(_fmt(v))}</li>" for k, v in headline.items())
        raw = f"<details><summary>all {len(headline)} headline figures</summary><ul class=\"hl\">{items}</ul></details>"
    return (f'<div class="card{" failed" if status == "failed" else ""}" id="nb-{esc}">{thumb}<div class="body">'
            f'<div class="head"><span class="nb">{esc}</span> <span class="badge {_STATUS_CLASS.get(status, "")}">'
            f"{html.escape(status)}</span>{when}</div>"
            f'<div class="row"><span class="k">data</span><span>{_data_html(metrics)}</span></div>'
            f'<div class="row"><span class="k">time</span><span>{_time_html(e)}</span></div>'
            f'<div class="row"><span class="k">views</span><span>{links}</span></div>{notes}{raw}</div></div>')


def _badge(v: str) -> str:
    if v == "no goal":
        return '<span class="nogoal">no goal</span>'
    return f'<span class="badge b-{v.replace(" ", "")}">{v}</span>'


def _metric_rows(study: dict[str, Any], entries: dict[str, dict[str, Any]]) -> tuple[str, list[str]]:
    rows, verdicts = [], []
    for r in study.get("metrics") or []:
        headline = ((entries.get(r["notebook"]) or {}).get("metrics") or {}).get("headline") or {}
        value = headline.get(r["metric"])
        arrow = "≥" if r["direction"] == ">=" else "≤"
        goal = r.get("goal")
        goal_html = "—"
        if r.get("goal_key"):
            goal = headline.get(r["goal_key"])
            goal_html = f"{arrow} <code>{html.escape(r['goal_key'])}</code> = {html.escape(_fmt(goal))}"
        elif goal is not None:
            goal_html = f"{arrow} {html.escape(_fmt(goal))}"
        if r.get("goal_source") and (goal is not None or r.get("goal_key")):
            goal_html += f"<br><small>{html.escape(r['goal_source'])}</small>"
        v = verdict(value, goal, r["direction"])
        if r.get("goal") is not None or r.get("goal_key"):
            verdicts.append(v)  # the summaries count the rows that have a goal
        claim = "—"
        if r.get("original_claim") is not None:
            src = html.escape(r.get("claim_source") or "")
            claim = f'<span title="{src}">{html.escape(_fmt(r["original_claim"]))}</span><br><small>{src}</small>'
        shown = html.escape(_fmt(value)) if value is not None else "—"
        rows.append(f'<tr><td>{html.escape(r["label"])}<br><code>{html.escape(r["metric"])}</code></td>'
                    f'<td><a href="#nb-{html.escape(r["notebook"])}">{html.escape(r["notebook"][:2])}</a></td>'
                    f'<td class="num">{shown}</td><td class="src">{claim}</td><td class="src">{goal_html}</td>'
                    f"<td>{_badge(v)}</td></tr>")
    if not rows:
        return "", verdicts
    table = ("<table><thead><tr><th>metric</th><th>nb</th><th>this run</th><th>original study</th><th>goal</th>"
             f"<th>verdict</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")
    return table, verdicts


def _count(verdicts: list[str]) -> str:
    return " · ".join(f"{verdicts.count(v)} {v}" for v in ("met", "not met", "no data") if verdicts.count(v))


def write_index(reports: Path, manifest: dict[str, Any], reference: dict[str, Any] | None = None) -> Path:
    """Write `reports/index.html` (and thumbnails under `reports/thumbs/`) from the run manifest, each notebook's
    metrics file and executed copy, and `configs/reference.yaml` (or `reference`).

    Notebooks that ran earlier (not in this manifest) are shown too, marked as coming from an earlier run, so a
    partial rerun does not hide the other reports; the reference's notebooks that never ran show as "not run".
    """
    ref = load_reference() if reference is None else reference
    entries = _entries(reports, manifest, ref)
    sections, chips_studies, all_verdicts = [], [], []
    placed: set[str] = set()
    for study in ref.get("studies", []):
        names = [n for n in study.get("notebooks", []) if n in entries]
        placed.update(names)
        table, verdicts = _metric_rows(study, entries)
        all_verdicts += verdicts
        sid = html.escape(str(study.get("id", len(sections))))
        title = (f"Study {sid} — " if sid != "0" else "") + html.escape(study["title"])
        sources = {((entries[n].get("metrics") or {}).get("data") or {}).get("source") for n in names}
        note = ('<span class="warn"><b>synthetic</b> demo data: these figures check the pipeline; they are not '
                "comparable with the original study's figures</span> · " if "demo" in sources and sid != "0" else "")
        profiles = sorted({str(entries[n].get("profile")) for n in names if entries[n].get("profile")})
        sub = (f"{note}notebooks {', '.join(n[:2] for n in names)}"
               + (f" · profile {html.escape(', '.join(profiles))}" if profiles else "")
               + (f" · goals: {_count(verdicts)}" if verdicts else ""))
        cards = f'<div class="cards">{"".join(_card(entries[n], reports) for n in names)}</div>'
        body = f'<div class="split">{cards}<div>{table}</div></div>' if len(names) == 1 and table else cards + table
        sections.append(f'<section id="study-{sid}"><h2>{title}</h2><div class="sub">{sub}</div>{body}</section>')
        chips_studies.append(f'<span class="chip"><a href="#study-{sid}">{title}</a>'
                             + (f" <small>{_count(verdicts)}</small>" if verdicts else "") + "</span>")
    others = [n for n in entries if n not in placed]
    if others:
        sections.append('<section id="others"><h2>Other notebooks</h2><div class="sub">not in '
                        "configs/reference.yaml</div><div class=\"cards\">"
                        + "".join(_card(entries[n], reports) for n in others) + "</div></section>")

    ran = [e for e in manifest.get("notebooks", []) if e.get("status") in ("ok", "failed")]
    budget_ran = [entries[e["name"]]["budget_s"] for e in ran if e["name"] in entries]
    total_budget = sum(b for b in budget_ran if b) if budget_ran and all(budget_ran) else None
    over = [n for n, e in entries.items() if e["over_budget"]]
    timed = [e for e in entries.values() if e["budget_s"] is not None and e.get("duration_s") is not None
             and e["status"] not in ("skipped", "not run")]
    budget_chip = (f"<b>{len(over)} over budget</b>: " + ", ".join(o[:2] for o in over) if over
                   else f"{len(timed)} notebook(s) within budget" if timed else "no durations against a budget yet")
    statuses: dict[str, int] = {}
    for e in entries.values():
        statuses[e["status"]] = statuses.get(e["status"], 0) + 1
    chips = [f'<span class="chip">goals: {_badge("met")} {all_verdicts.count("met")} '
             f'{_badge("not met")} {all_verdicts.count("not met")} {_badge("no data")} '
             f'{all_verdicts.count("no data")}</span>',
             '<span class="chip">notebooks: ' + " · ".join(f"{n} {html.escape(s)}" for s, n in statuses.items())
             + "</span>",
             f'<span class="chip">{budget_chip}</span>']
    data = manifest.get("data", {})
    total = manifest.get("total_s")
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ML Casebook — dashboard</title><style>{_CSS}</style></head><body><main>
<h1>ML Casebook — dashboard</h1>
<div class="meta">last run: profile <b>{html.escape(str(manifest.get('profile')))}</b> ·
data <b>{html.escape(str(data.get('source')))}</b>{(' ' + html.escape(str(data.get('dir')))) if data.get('dir') else ' (generated demo data: synthetic)'} ·
commit <code>{html.escape(str(manifest.get('git_commit')))}</code> ·
finished {html.escape(str(manifest.get('finished_at', ''))[:16].replace('T', ' '))} UTC ·
{len(ran)} notebook(s) in {_seconds(total) if isinstance(total, (int, float)) else '—'}{f' of {_seconds(total_budget)} budgeted' if total_budget else ''} ·
<a href="run_manifest.json">run_manifest.json</a></div>
<div class="chips">{''.join(chips)}</div>
<div class="chips">{''.join(chips_studies)}</div>
{''.join(sections)}
<div class="meta"><small>Original claims as this repository states them (source under each figure); goals and time
budgets from <code>configs/reference.yaml</code>. "no data": the metrics file lacks the key (not run, failed, or not
written by this version). A tie counts as met.</small></div>
</main></body></html>"""
    out = reports / "index.html"
    out.write_text(page, encoding="utf-8")
    return out
