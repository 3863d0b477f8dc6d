//! Plain SVG charts, written by hand: small multiples (one panel per scenario) of horizontal
//! bars, latency-percentile curves on a log axis, and x–y lines (a value against the offered
//! rate, for curves). No fonts or rendering libraries needed; any browser or the GitHub file
//! view shows them, and they inline into the HTML report.

use std::fmt::Write;

/// One colour per design, in the order the designs were given.
const PALETTE: [&str; 8] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
];
const PANEL_W: f64 = 480.0;
const COLUMNS: usize = 2;
const LABEL_W: f64 = 110.0;
const BAR_H: f64 = 18.0;

/// The colour of design number `i`.
pub fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// One bar: a design's median, with its 95% interval drawn as a whisker.
pub struct Bar {
    /// Design index (its colour).
    pub index: usize,
    /// Design name.
    pub name: String,
    /// The median; NaN: no valid run, no bar (the label says so).
    pub value: f64,
    /// The median's 95% interval, when there were repeats to compute it from.
    pub interval: Option<(f64, f64)>,
}

/// One panel of a bar chart: a title and a bar per design.
pub struct BarPanel {
    /// Panel title (the scenario).
    pub title: String,
    /// The bars.
    pub bars: Vec<Bar>,
}

/// Horizontal bar charts, one panel per scenario, each scaled to its own maximum.
pub fn bar_panels(title: &str, unit: &str, panels: &[BarPanel]) -> String {
    let rows = panels.iter().map(|p| p.bars.len()).max().unwrap_or(1);
    let panel_h = 40.0 + rows as f64 * (BAR_H + 6.0);
    let mut body = String::new();
    for (n, panel) in panels.iter().enumerate() {
        let (x0, y0) = grid_origin(n, panel_h);
        let max = panel
            .bars
            .iter()
            .flat_map(|b| [b.value, b.interval.map_or(f64::NAN, |i| i.1)])
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        panel_title(&mut body, x0, y0, &panel.title);
        let span = PANEL_W - LABEL_W - 90.0;
        let scale = |v: f64| {
            if max > 0.0 && v.is_finite() {
                v / max * span
            } else {
                0.0
            }
        };
        for (row, bar) in panel.bars.iter().enumerate() {
            let y = y0 + 30.0 + row as f64 * (BAR_H + 6.0);
            let w = scale(bar.value);
            let mut end = w;
            let label = if bar.value.is_finite() {
                format_value(bar.value, unit)
            } else {
                "no valid run".to_string()
            };
            let _ = write!(
                body,
                r#"<text x="{lx}" y="{ty}" class="l">{name}</text><rect x="{bx}" y="{y}" width="{w:.1}" height="{BAR_H}" fill="{c}"/>"#,
                lx = x0 + LABEL_W - 6.0,
                ty = y + BAR_H - 5.0,
                name = esc(&bar.name),
                bx = x0 + LABEL_W,
                c = colour(bar.index),
            );
            if let Some((lo, hi)) = bar.interval.filter(|_| bar.value.is_finite()) {
                let (a, b) = (x0 + LABEL_W + scale(lo), x0 + LABEL_W + scale(hi));
                let mid = y + BAR_H / 2.0;
                let _ = write!(
                    body,
                    r##"<path d="M{a:.1} {mid:.1}H{b:.1}M{a:.1} {t:.1}V{u:.1}M{b:.1} {t:.1}V{u:.1}" stroke="#222" fill="none"><title>95% interval {lo_v} to {hi_v}</title></path>"##,
                    t = mid - 4.0,
                    u = mid + 4.0,
                    lo_v = format_value(lo, unit),
                    hi_v = format_value(hi, unit),
                );
                end = end.max(scale(hi));
            }
            let _ = write!(
                body,
                r#"<text x="{vx:.1}" y="{ty}" class="v">{label}</text>"#,
                vx = x0 + LABEL_W + end + 4.0,
                ty = y + BAR_H - 5.0,
            );
        }
    }
    document(title, panels.len(), panel_h, &body)
}

/// One design's latency curve: (design index, design name, [(percentile label, µs)]).
pub type Curve = (usize, String, Vec<(&'static str, f64)>);

/// One panel of latency curves: per design, the percentile points in µs.
pub struct CurvePanel {
    /// Panel title (the scenario).
    pub title: String,
    /// One curve per design.
    pub curves: Vec<Curve>,
}

/// Latency-percentile curves (log-scaled µs), one panel per scenario, with a legend.
pub fn curve_panels(title: &str, panels: &[CurvePanel]) -> String {
    let panel_h = 280.0;
    let mut body = String::new();
    for (n, panel) in panels.iter().enumerate() {
        let (x0, y0) = grid_origin(n, panel_h);
        let values = panel.curves.iter().flat_map(|c| c.2.iter().map(|p| p.1));
        let (lo, hi) = log_range(values);
        let (left, right, top, bottom) = (
            x0 + 60.0,
            x0 + PANEL_W - 130.0,
            y0 + 30.0,
            y0 + panel_h - 30.0,
        );
        panel_title(&mut body, x0, y0, &panel.title);
        let y_of = |v: f64| {
            bottom - (v.max(lo).log10() - lo.log10()) / (hi.log10() - lo.log10()) * (bottom - top)
        };
        let mut decade = lo;
        while decade <= hi * 1.0001 {
            let y = y_of(decade);
            let _ = write!(
                body,
                r#"<line x1="{left}" x2="{right}" y1="{y:.1}" y2="{y:.1}" class="g"/><text x="{}" y="{:.1}" class="v" text-anchor="end">{}</text>"#,
                left - 4.0,
                y + 4.0,
                format_value(decade, "µs")
            );
            decade *= 10.0;
        }
        let labels = panel
            .curves
            .first()
            .map(|c| c.2.iter().map(|p| p.0).collect::<Vec<_>>())
            .unwrap_or_default();
        let step = (right - left) / (labels.len().max(2) - 1) as f64;
        for (k, label) in labels.iter().enumerate() {
            let _ = write!(
                body,
                r#"<text x="{:.1}" y="{}" class="v" text-anchor="middle">{label}</text>"#,
                left + k as f64 * step,
                bottom + 16.0
            );
        }
        for (row, (i, name, points)) in panel.curves.iter().enumerate() {
            let pts: Vec<String> = points
                .iter()
                .enumerate()
                .filter(|(_, p)| p.1.is_finite() && p.1 > 0.0)
                .map(|(k, p)| format!("{:.1},{:.1}", left + k as f64 * step, y_of(p.1)))
                .collect();
            let _ = write!(
                body,
                r#"<polyline points="{pts}" fill="none" stroke="{c}" stroke-width="2"/><rect x="{lx}" y="{ly}" width="10" height="10" fill="{c}"/><text x="{tx}" y="{ty}" class="v">{name}</text>"#,
                pts = pts.join(" "),
                c = colour(*i),
                lx = right + 12.0,
                ly = top + row as f64 * 16.0,
                tx = right + 26.0,
                ty = top + row as f64 * 16.0 + 9.0,
                name = esc(name),
            );
        }
    }
    document(title, panels.len(), panel_h, &body)
}

/// One line of an x–y panel: (design index, design name, points (x, y)).
pub type Series = (usize, String, Vec<(f64, f64)>);

/// One x–y panel: lines over a linear x axis and a linear or log y axis.
pub struct LinePanel {
    /// Panel title.
    pub title: String,
    /// Unit of the x axis (e.g. "req/s").
    pub x_unit: String,
    /// Unit of the y axis (e.g. "µs").
    pub y_unit: String,
    /// Log-scaled y axis (latencies) or linear from 0 (CPU per request).
    pub log_y: bool,
    /// One line per design.
    pub series: Vec<Series>,
}

/// x–y line charts, one panel per entry, with a legend: e.g. p99 latency or server CPU per
/// request against the offered rate.
pub fn line_panels(title: &str, panels: &[LinePanel]) -> String {
    let panel_h = 280.0;
    let mut body = String::new();
    for (n, panel) in panels.iter().enumerate() {
        let (x0, y0) = grid_origin(n, panel_h);
        let (left, right, top, bottom) = (
            x0 + 60.0,
            x0 + PANEL_W - 130.0,
            y0 + 30.0,
            y0 + panel_h - 36.0,
        );
        panel_title(&mut body, x0, y0, &panel.title);
        let points = || panel.series.iter().flat_map(|s| s.2.iter().copied());
        let finite = |v: &f64| v.is_finite() && *v >= 0.0;
        let x_max = points().map(|p| p.0).filter(finite).fold(0.0, f64::max);
        let x_max = if x_max > 0.0 { x_max * 1.05 } else { 1.0 };
        let x_of = |x: f64| left + x / x_max * (right - left);
        let (lo, hi) = if panel.log_y {
            log_range(points().map(|p| p.1))
        } else {
            let m = points().map(|p| p.1).filter(finite).fold(0.0, f64::max);
            (0.0, if m > 0.0 { nice_ceiling(m) } else { 1.0 })
        };
        let y_of = |v: f64| {
            let frac = if panel.log_y {
                (v.max(lo).log10() - lo.log10()) / (hi.log10() - lo.log10())
            } else {
                (v - lo) / (hi - lo)
            };
            bottom - frac * (bottom - top)
        };
        let ticks: Vec<f64> = if panel.log_y {
            std::iter::successors(Some(lo), |d| Some(d * 10.0))
                .take_while(|d| *d <= hi * 1.0001)
                .collect()
        } else {
            (0..=4).map(|k| hi * k as f64 / 4.0).collect()
        };
        for t in ticks {
            let y = y_of(t);
            let _ = write!(
                body,
                r#"<line x1="{left}" x2="{right}" y1="{y:.1}" y2="{y:.1}" class="g"/><text x="{}" y="{:.1}" class="v" text-anchor="end">{}</text>"#,
                left - 4.0,
                y + 4.0,
                format_value(t, &panel.y_unit)
            );
        }
        for k in 0..=4 {
            let x = x_max / 1.05 * k as f64 / 4.0;
            let _ = write!(
                body,
                r#"<text x="{:.1}" y="{}" class="v" text-anchor="middle">{}</text>"#,
                x_of(x),
                bottom + 14.0,
                format_value(x, "")
            );
        }
        let _ = write!(
            body,
            r#"<text x="{:.1}" y="{}" class="v" text-anchor="middle">offered load, {}</text>"#,
            (left + right) / 2.0,
            bottom + 28.0,
            esc(&panel.x_unit)
        );
        for (row, (i, name, pts)) in panel.series.iter().enumerate() {
            let drawn: Vec<(f64, f64)> = pts
                .iter()
                .filter(|p| finite(&p.0) && finite(&p.1) && (!panel.log_y || p.1 > 0.0))
                .map(|p| (x_of(p.0), y_of(p.1)))
                .collect();
            let line: Vec<String> = drawn
                .iter()
                .map(|(x, y)| format!("{x:.1},{y:.1}"))
                .collect();
            let _ = write!(
                body,
                r#"<polyline points="{}" fill="none" stroke="{c}" stroke-width="2"/>"#,
                line.join(" "),
                c = colour(*i),
            );
            for (x, y) in &drawn {
                let _ = write!(
                    body,
                    r#"<circle cx="{x:.1}" cy="{y:.1}" r="2.5" fill="{}"/>"#,
                    colour(*i)
                );
            }
            let _ = write!(
                body,
                r#"<rect x="{lx}" y="{ly}" width="10" height="10" fill="{c}"/><text x="{tx}" y="{ty}" class="v">{name}</text>"#,
                c = colour(*i),
                lx = right + 12.0,
                ly = top + row as f64 * 16.0,
                tx = right + 26.0,
                ty = top + row as f64 * 16.0 + 9.0,
                name = esc(name),
            );
        }
    }
    document(title, panels.len(), panel_h, &body)
}

/// The next "round" number at or above `v` (1, 2 or 5 times a power of ten).
fn nice_ceiling(v: f64) -> f64 {
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * p)
}

/// Writes a panel's title at its top-left corner.
fn panel_title(body: &mut String, x0: f64, y0: f64, title: &str) {
    let _ = write!(
        body,
        r#"<text x="{}" y="{}" class="t">{}</text>"#,
        x0 + 4.0,
        y0 + 18.0,
        esc(title)
    );
}

fn grid_origin(n: usize, panel_h: f64) -> (f64, f64) {
    (
        (n % COLUMNS) as f64 * PANEL_W,
        40.0 + (n / COLUMNS) as f64 * panel_h,
    )
}

fn document(title: &str, panels: usize, panel_h: f64, body: &str) -> String {
    let width = PANEL_W * COLUMNS as f64;
    let height = 50.0 + panels.div_ceil(COLUMNS) as f64 * panel_h;
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif">
<style>.t{{font-size:13px;font-weight:bold}}.l{{font-size:11px;text-anchor:end}}.v{{font-size:10px}}.g{{stroke:#ddd}}</style>
<rect width="100%" height="100%" fill="white"/><text x="8" y="24" font-size="16" font-weight="bold">{}</text>
{body}
</svg>
"#,
        esc(title)
    )
}

/// Powers of ten enclosing the finite positive values (1..10 when there are none).
fn log_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
    for v in values.filter(|v| v.is_finite() && *v > 0.0) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (1.0, 10.0);
    }
    let lo = 10f64.powf(lo.log10().floor());
    let hi = 10f64.powf(hi.log10().ceil()).max(lo * 10.0);
    (lo, hi)
}

/// 1234567 → "1.23M", 0.5 → "0.50", with the unit appended.
pub fn format_value(v: f64, unit: &str) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    let s = if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    if unit.is_empty() {
        s
    } else {
        format!("{s} {unit}")
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests;
