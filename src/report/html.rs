//! `report.html`: the same report as `report.md`, as one self-contained
//! page that opens from a USB stick: inline CSS, an inline SVG chart of
//! the timeline (events by source over time, the attack chain drawn in
//! red), tables that sort (a small inline script), findings that link to
//! their timeline rows. A Content-Security-Policy forbids every fetch, so
//! nothing a host string might smuggle in can reach the network.
//!
//! Everything from the host is HTML-escaped here; the lists stop at the
//! same counts as the Markdown, `report.json` holds the rest.

use super::Report;
use super::markdown::{MAX_EVENTS, MAX_FINDINGS, MAX_IOCS, verdict_word};
use super::model::{Event, EventSource};
use crate::record::Severity;
use std::fmt::Write;

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let s = crate::sanitize::display_safe(s);
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const CSS: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#1b1b1b}\
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}\
code,td.c{font-family:ui-monospace,monospace;font-size:12px;word-break:break-all}\
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{border:1px solid #ddd;padding:3px 6px;vertical-align:top;text-align:left}\
th{background:#f3f3f3;cursor:pointer;user-select:none}th.s-asc:after{content:' \\25B2'}th.s-desc:after{content:' \\25BC'}\
tr:target{background:#fff3b0}.critical{color:#b00020;font-weight:bold}.warn{color:#a15c00}.info{color:#555}\
.chain td:first-child{border-left:4px solid #d00}dl.h{display:grid;grid-template-columns:max-content 1fr;gap:2px 1em}dl.h dt{font-weight:bold}\
ul.sum li{margin:.3em 0}svg text{font:11px system-ui,sans-serif}.more{color:#555;font-style:italic}";

/// A small table sorter: click a header to sort its column (numbers as
/// numbers), again to reverse. No library, nothing fetched.
const SCRIPT: &str = "document.querySelectorAll('table.sortable th').forEach(function(th){th.addEventListener('click',function(){\
var t=th.closest('table'),b=t.tBodies[0],i=Array.prototype.indexOf.call(th.parentNode.children,th),asc=!th.classList.contains('s-asc');\
t.querySelectorAll('th').forEach(function(h){h.classList.remove('s-asc','s-desc')});th.classList.add(asc?'s-asc':'s-desc');\
var rows=Array.prototype.slice.call(b.rows);rows.sort(function(x,y){var a=x.cells[i].getAttribute('data-k')||x.cells[i].textContent,c=y.cells[i].getAttribute('data-k')||y.cells[i].textContent;\
var na=parseFloat(a),nc=parseFloat(c);var r=(!isNaN(na)&&!isNaN(nc))?na-nc:a.localeCompare(c);return asc?r:-r});rows.forEach(function(r){b.appendChild(r)})})});";

/// The whole page.
pub fn render(r: &Report) -> String {
    let mut o = String::with_capacity(64 * 1024);
    let host = r.header.host.as_deref().unwrap_or("unknown host");
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>Incident report: {}</title><style>{CSS}</style></head><body>\n",
        esc(host)
    );
    let _ = writeln!(o, "<h1>Incident report: {}</h1>", esc(host));
    header(&mut o, r);
    summary(&mut o, r);
    super::chain::html(&mut o, super::chain::of(r));
    iocs(&mut o, r);
    timeline(&mut o, r);
    findings(&mut o, r);
    containment(&mut o, r);
    custody(&mut o, r);
    let _ = writeln!(o, "<script>{SCRIPT}</script>\n</body></html>");
    o
}

fn header(o: &mut String, r: &Report) {
    let h = &r.header;
    let _ = writeln!(o, "<dl class=\"h\" id=\"header\">");
    let mut row = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            let _ = writeln!(o, "<dt>{k}</dt><dd><code>{}</code></dd>", esc(&v));
        }
    };
    row("Case", Some(r.case.clone()));
    row("Written", Some(r.created.clone()));
    row("Host", h.host.clone());
    row("Root", h.root.clone());
    row("State dir", h.state_dir.clone());
    row(
        "OpenClaw",
        h.openclaw_version
            .as_ref()
            .map(|v| format!("{v} ({} layout)", h.layout.as_deref().unwrap_or("unknown"))),
    );
    for (k, v) in r.custody.iter().flat_map(|c| c.fields()) {
        row(k, Some(v.to_string()));
    }
    row(
        "Events",
        h.first_event
            .as_ref()
            .map(|f| format!("{f} to {}", h.last_event.as_deref().unwrap_or(f))),
    );
    row(
        "Case journal",
        h.case_opened
            .as_ref()
            .map(|f| format!("{f} to {}", h.case_last.as_deref().unwrap_or(f))),
    );
    row("ir", Some(h.ir_version.clone()));
    row(
        "Journal head",
        h.journal_seq.map(|s| {
            format!(
                "seq {s}, digest {}",
                h.journal_head.as_deref().unwrap_or("-")
            )
        }),
    );
    let _ = writeln!(o, "</dl>");
}

fn summary(o: &mut String, r: &Report) {
    let _ = writeln!(
        o,
        "<section id=\"summary\"><h2>Executive summary</h2><ul class=\"sum\">"
    );
    for l in &r.summary {
        let _ = writeln!(o, "<li><b>{}:</b> {}</li>", l.topic.label(), esc(&l.text));
    }
    let _ = writeln!(o, "</ul></section>");
}

/// A note that a list was cut, pointing at `report.json`.
fn more(o: &mut String, total: usize, shown: usize) {
    if total > shown {
        let _ = writeln!(
            o,
            "<p class=\"more\">… and {} more in report.json.</p>",
            total - shown
        );
    }
}

fn iocs(o: &mut String, r: &Report) {
    let _ = writeln!(
        o,
        "<section><h2>Indicators of compromise</h2>\n<table class=\"sortable\" id=\"iocs\"><thead><tr><th>kind</th><th>indicator</th><th>seen at</th></tr></thead><tbody>"
    );
    for i in r.iocs.iter().take(MAX_IOCS) {
        let mut seen: Vec<String> = i.seen.iter().map(|s| esc(s)).collect();
        if i.seen_count > i.seen.len() {
            seen.push(format!("and {} more", i.seen_count - i.seen.len()));
        }
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td class=\"c\">{}</td><td class=\"c\">{}</td></tr>",
            i.kind.as_str(),
            esc(&i.value),
            seen.join("<br>")
        );
    }
    let _ = writeln!(o, "</tbody></table>");
    more(o, r.iocs.len(), MAX_IOCS);
    let _ = writeln!(o, "</section>");
}

fn sev_class(s: Option<Severity>) -> &'static str {
    s.map_or("info", |s| s.as_str())
}

fn timeline(o: &mut String, r: &Report) {
    let (shown, left) = super::model::shown_events(&r.timeline, MAX_EVENTS);
    let shown = &shown[..];
    let _ = writeln!(o, "<section><h2>Timeline</h2>");
    for a in &r.event_artifacts {
        let _ = writeln!(
            o,
            "<p class=\"artifact\">{}</p>",
            esc(&super::model::artifact_words(a))
        );
    }
    chart(o, shown);
    let _ = writeln!(
        o,
        "<table class=\"sortable\" id=\"timeline\"><thead><tr><th>#</th><th>time (UTC)</th><th>source</th><th>what</th><th>where</th></tr></thead><tbody>"
    );
    for e in shown {
        let _ = writeln!(
            o,
            "<tr id=\"{}\"{}><td data-k=\"{}\">{}{}</td><td>{}</td><td>{}</td><td class=\"c {}\">{}</td><td class=\"c\">{}</td></tr>",
            e.id,
            if e.chain { " class=\"chain\"" } else { "" },
            e.id.trim_start_matches("ev-"),
            e.id.trim_start_matches("ev-"),
            if e.chain { " ★" } else { "" },
            esc(&e.time),
            e.source.as_str(),
            sev_class(e.severity),
            esc(&e.what),
            esc(&e.location)
        );
    }
    let _ = writeln!(o, "</tbody></table>");
    if let Some(w) = super::model::left_out_words(&left) {
        let _ = writeln!(o, "<p class=\"more\">… {}</p>", esc(&w));
    }
    let _ = writeln!(o, "</section>");
}

/// Seconds since the epoch, for placing an event on the chart.
fn secs(t: &str) -> Option<f64> {
    let t = chrono::DateTime::parse_from_rfc3339(t).ok()?;
    Some(t.timestamp() as f64 + f64::from(t.timestamp_subsec_nanos()) / 1e9)
}

/// A pause between events long enough to break the chart's time axis.
const BREAK_SECS: f64 = 3600.0;

/// Where each event sits on the chart's axis, in units: events take one
/// each in time order and a pause over [`BREAK_SECS`] three, so an attack
/// days before the response does not crush both into two dots. Returns
/// the units and the indexes where a break begins.
fn axis(events: &[Event]) -> (Vec<f64>, Vec<usize>) {
    let mut units = Vec::with_capacity(events.len());
    let mut breaks = Vec::new();
    let mut u = 0.0;
    let mut prev: Option<f64> = None;
    for (i, e) in events.iter().enumerate() {
        let t = secs(&e.time);
        if let (Some(a), Some(b)) = (prev, t) {
            if b - a > BREAK_SECS {
                u += 3.0;
                breaks.push(i);
            }
        }
        prev = t.or(prev);
        units.push(u);
        u += 1.0;
    }
    (units, breaks)
}

/// A pause in words (`4d 18h`, `3h 5m`).
fn pause(secs: f64) -> String {
    let m = (secs / 60.0) as u64;
    let (d, h, m) = (m / 1440, (m / 60) % 24, m % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else {
        format!("{h}h {m}m")
    }
}

/// The SVG chart: one lane per source, one dot per event in time order
/// (linked to its row), long pauses drawn as breaks with their length,
/// the attack chain in red joined by a line.
fn chart(o: &mut String, events: &[Event]) {
    const W: f64 = 1000.0;
    const LEFT: f64 = 110.0;
    const LANE: f64 = 26.0;
    let (units, breaks) = axis(events);
    let total = units.last().copied().unwrap_or(0.0).max(1.0);
    let x = |i: usize| LEFT + 10.0 + units[i] / total * (W - LEFT - 30.0);
    let lane = |s: EventSource| EventSource::ALL.iter().position(|l| *l == s).unwrap_or(0) as f64;
    let y = |s: EventSource| 26.0 + lane(s) * LANE;
    let h = 26.0 + EventSource::ALL.len() as f64 * LANE + 24.0;
    let _ = writeln!(
        o,
        "<svg id=\"timeline-chart\" role=\"img\" aria-label=\"events by source over time\" width=\"100%\" viewBox=\"0 0 {W} {h}\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    for s in EventSource::ALL {
        let _ = writeln!(
            o,
            "<text x=\"4\" y=\"{:.0}\">{}</text><line x1=\"{LEFT}\" x2=\"{}\" y1=\"{:.0}\" y2=\"{:.0}\" stroke=\"#e4e4e4\"/>",
            y(s) + 4.0,
            s.as_str(),
            W - 10.0,
            y(s),
            y(s)
        );
    }
    let label = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default()
    };
    // Time labels at the start of each stretch, a dashed break between.
    for (k, start) in std::iter::once(0).chain(breaks.iter().copied()).enumerate() {
        if events.is_empty() {
            break;
        }
        if k > 0 {
            let bx = x(start) - 1.5 * (W - LEFT - 30.0) / total;
            let gap = secs(&events[start].time).unwrap_or(0.0)
                - secs(&events[start - 1].time).unwrap_or(0.0);
            let _ = writeln!(
                o,
                "<line x1=\"{bx:.1}\" x2=\"{bx:.1}\" y1=\"14\" y2=\"{:.0}\" stroke=\"#999\" stroke-dasharray=\"3,3\"/><text x=\"{bx:.1}\" y=\"11\" text-anchor=\"middle\" fill=\"#777\">+{}</text>",
                h - 20.0,
                pause(gap)
            );
        }
        let _ = writeln!(
            o,
            "<text x=\"{:.1}\" y=\"{:.0}\">{}</text>",
            x(start),
            h - 6.0,
            label(&events[start].time)
        );
    }
    let chain: Vec<String> = (0..events.len())
        .filter(|i| events[*i].chain)
        .map(|i| format!("{:.1},{:.1}", x(i), y(events[i].source)))
        .collect();
    if chain.len() > 1 {
        let _ = writeln!(
            o,
            "<polyline id=\"attack-chain\" points=\"{}\" fill=\"none\" stroke=\"#d00\" stroke-width=\"2\"/>",
            chain.join(" ")
        );
    }
    for (i, e) in events.iter().enumerate() {
        let (fill, r) = match (e.chain, e.severity) {
            (true, _) => ("#d00", 6),
            (_, Some(Severity::Critical)) => ("#b00020", 5),
            (_, Some(Severity::Warn)) => ("#e08a00", 4),
            _ => ("#4a6fa5", 3),
        };
        let _ = writeln!(
            o,
            "<a href=\"#{}\"><circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{r}\" fill=\"{fill}\"><title>{} {}: {}</title></circle></a>",
            e.id,
            x(i),
            y(e.source),
            esc(&e.time),
            e.source.as_str(),
            esc(&e.what)
        );
    }
    let _ = writeln!(o, "</svg>");
}

fn findings(o: &mut String, r: &Report) {
    let _ = writeln!(
        o,
        "<section><h2>Findings, most serious first</h2>\n<table class=\"sortable\" id=\"findings\"><thead><tr><th>#</th><th>severity</th><th>from</th><th>finding</th><th>where</th><th>evidence</th><th>event</th></tr></thead><tbody>"
    );
    for f in r.findings.iter().take(MAX_FINDINGS) {
        let rank = match f.severity {
            Severity::Critical => 3,
            Severity::Warn => 2,
            Severity::Info => 1,
        };
        let mut title = esc(&f.title);
        if let Some(a) = &f.attack {
            title.push_str(&format!(" ({})", esc(a)));
        }
        if let Some(s) = f.status_text() {
            title.push_str(&format!(" [{}]", esc(&s)));
        }
        let ev = f
            .event
            .as_deref()
            .map(|e| format!("<a href=\"#{e}\">{}</a>", e.trim_start_matches("ev-")))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "<tr id=\"{}\" class=\"finding\"><td data-k=\"{}\">{}</td><td data-k=\"{rank}\" class=\"{}\">{}</td><td>{} <code>{}</code></td><td>{title}</td><td class=\"c\">{}</td><td class=\"c\">{}</td><td>{ev}</td></tr>",
            f.id,
            f.id.trim_start_matches("f-"),
            f.id.trim_start_matches("f-"),
            f.severity,
            f.severity,
            f.detector.as_str(),
            esc(&f.rule),
            esc(&f.location),
            esc(&f.evidence)
        );
    }
    let _ = writeln!(o, "</tbody></table>");
    more(o, r.findings.len(), MAX_FINDINGS);
    let _ = writeln!(o, "</section>");
}

fn containment(o: &mut String, r: &Report) {
    let _ = writeln!(o, "<section id=\"containment\"><h2>Containment</h2><ul>");
    for a in &r.containment {
        let _ = writeln!(
            o,
            "<li>{} <b>{}</b>: {}</li>",
            esc(&a.time),
            esc(&a.step),
            esc(&a.what)
        );
    }
    let _ = writeln!(o, "</ul>");
    if let Some(rot) = r
        .rotation
        .as_ref()
        .filter(|x| !x.provider_credentials.is_empty())
    {
        let _ = writeln!(
            o,
            "<h3>To revoke at each provider</h3><table class=\"sortable\" id=\"revoke\"><thead><tr><th>provider</th><th>type</th><th>last 4</th><th>sha256 prefix</th><th>where</th></tr></thead><tbody>"
        );
        for c in &rot.provider_credentials {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td class=\"c\">{}</td></tr>",
                esc(&c.provider),
                esc(&c.kind),
                esc(&c.last4),
                esc(&c.sha256_prefix),
                esc(&c.source)
            );
        }
        let _ = writeln!(o, "</tbody></table>");
    }
    let _ = writeln!(o, "<h2 id=\"todo\">What remains to do</h2><ul>");
    for t in &r.todo {
        let _ = writeln!(o, "<li>☐ <code>{}</code></li>", esc(t));
    }
    let _ = writeln!(o, "</ul></section>");
}

fn custody(o: &mut String, r: &Report) {
    let j = &r.journal;
    let _ = writeln!(
        o,
        "<section id=\"custody\"><h2>Chain of custody</h2><p>The case journal holds {} entries and <b>{}</b> verification (last digest <code>{}</code>).</p>",
        j.entries,
        verdict_word(j.verdict),
        esc(j.last_digest.as_deref().unwrap_or("-"))
    );
    if let Some(b) = &r.bundle {
        let _ = writeln!(
            o,
            "<p>Evidence bundle <code>{}</code>, sha256 <code>{}</code>, {} items.</p>",
            esc(&b.bundle.display().to_string()),
            esc(&b.sha256),
            b.items
        );
    }
    let _ = writeln!(
        o,
        "<table class=\"sortable\" id=\"steps\"><thead><tr><th>when (UTC)</th><th>who</th><th>command</th><th>status</th><th>exit</th></tr></thead><tbody>"
    );
    for s in &r.steps {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}@{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&s.ts),
            esc(&s.user),
            esc(&s.host),
            esc(&s.command),
            s.status.as_str(),
            s.exit_code
        );
    }
    let _ = writeln!(o, "</tbody></table></section>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_strings_are_inert_in_html() {
        assert_eq!(
            esc("<img src=x onerror='a()'>&\"\u{202e}"),
            "&lt;img src=x onerror=&#39;a()&#39;&gt;&amp;&quot;\\u{202e}"
        );
    }

    #[test]
    fn long_pauses_break_the_axis() {
        let ev = |t: &str| Event {
            id: String::new(),
            time: t.into(),
            source: EventSource::Ir,
            what: String::new(),
            location: String::new(),
            severity: None,
            chain: false,
        };
        let events = [
            ev("2026-11-21T08:00:00Z"),
            ev("2026-11-21T08:00:01Z"),
            ev("2026-11-26T02:00:00Z"),
        ];
        let (units, breaks) = axis(&events);
        assert_eq!(units, vec![0.0, 1.0, 5.0]);
        assert_eq!(breaks, vec![2]);
        assert_eq!(pause(4.0 * 86400.0 + 18.0 * 3600.0), "4d 18h");
    }
}
