"""`reports/index.html`: one page listing every notebook with status, duration, data and headline metrics."""
from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1d232a;max-width:1200px}
h1{margin-bottom:.2rem} .meta{color:#5b6570;margin-bottom:1.5rem}
table{border-collapse:collapse;width:100%} th,td{border-bottom:1px solid #dde2e6;padding:.45rem .6rem;
text-align:left;vertical-align:top} th{background:#f3f5f7} .ok{color:#137333;font-weight:600}
.failed{color:#b3261e;font-weight:600} .skipped{color:#8a6d00} .kept{color:#38598b} .demo{background:#fff4ce;padding:0 .3rem;
border-radius:3px} .real{background:#d7f5dd;padding:0 .3rem;border-radius:3px} code{font-size:.9em}
.metrics span{display:inline-block;margin-right:.9rem;white-space:nowrap} .err{color:#b3261e;font-size:.85em}
"""


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _data_cell(metrics: dict[str, Any] | None) -> str:
    if not metrics or not metrics.get("data"):
        return "—"
    data = metrics["data"]
    kind = data.get("source", "?")
    label = "demo (synthetic)" if kind == "demo" else kind
    sizes = ", ".join(f"{k.replace('n_', '')} {v}" for k, v in data.items() if k.startswith("n_") and v is not None)
    return (f'<span class="{html.escape(kind)}">{html.escape(label)}</span> {html.escape(str(data.get("name", "")))}'
            + (f"<br><small>{html.escape(sizes)}</small>" if sizes else ""))


def write_index(reports: Path, manifest: dict[str, Any]) -> Path:
    """Write `reports/index.html` from the run manifest and each notebook's metrics file.

    Notebooks that ran earlier (not in this manifest) but have a metrics file are listed too, marked
    as coming from an earlier run, so a partial rerun does not hide the other reports.
    """
    rows = []
    seen = set()
    entries = list(manifest["notebooks"])
    for path in sorted((reports / "metrics").glob("[0-9][0-9]_*.json")):
        if path.stem not in {e["name"] for e in entries}:
            entries.append({"number": path.stem[:2], "name": path.stem, "status": "earlier run",
                            "duration_s": None, "html": f"{path.stem}.html"
                            if (reports / f"{path.stem}.html").exists() else None, "error": None})
    for entry in sorted(entries, key=lambda e: e["name"]):
        if entry["name"] in seen:
            continue
        seen.add(entry["name"])
        mpath = reports / "metrics" / f"{entry['name']}.json"
        metrics = json.loads(mpath.read_text()) if mpath.exists() else None
        headline = (metrics or {}).get("headline", {})
        hl = "".join(f"<span><b>{html.escape(k)}</b> {html.escape(_fmt(v))}</span>" for k, v in headline.items())
        name = html.escape(entry["name"])
        link = name
        if entry.get("html"):
            link = (f'<a href="{html.escape(entry["html"])}">{name}</a><br><small><a href="{html.escape(entry["html"])}">'
                    f'report</a> · <a href="notebooks/{html.escape(entry["html"])}">notebook</a></small>')
        dur = "—" if entry.get("duration_s") is None else f"{entry['duration_s']:.1f} s"
        err = f'<div class="err">{html.escape(entry["error"])}</div>' if entry.get("error") else ""
        if entry.get("reason") and entry.get("status") in ("kept", "skipped"):
            err += f"<div><small>{html.escape(entry['reason'])}</small></div>"
        status = entry["status"]
        if status == "earlier run" and metrics:
            status = f"earlier run ({metrics.get('profile')}, {str(metrics.get('finished_at', ''))[:16]})"
        rows.append(f"<tr><td>{link}</td><td class=\"{html.escape(status.split()[0])}\">{html.escape(status)}"
                    f"{err}</td><td>{dur}</td><td>{_data_cell(metrics)}</td><td class=\"metrics\">{hl or '—'}</td></tr>")
    data = manifest.get("data", {})
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>ML Casebook — reports</title><style>{_CSS}</style></head><body>
<h1>ML Casebook — reports</h1>
<div class="meta">profile <b>{html.escape(str(manifest.get('profile')))}</b> ·
data <b>{html.escape(str(data.get('source')))}</b>{(' ' + html.escape(str(data.get('dir')))) if data.get('dir') else ' (generated demo data: synthetic)'} ·
commit <code>{html.escape(str(manifest.get('git_commit')))}</code> ·
finished {html.escape(str(manifest.get('finished_at')))} · total {manifest.get('total_s')} s ·
<a href="run_manifest.json">run_manifest.json</a></div>
<table><thead><tr><th>notebook</th><th>status</th><th>duration</th><th>data</th><th>headline metrics</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table></body></html>"""
    out = reports / "index.html"
    out.write_text(page, encoding="utf-8")
    return out
