//! Hand-written SVG line charts (no dependency): axes with round ticks, lines, markers
//! and shaded bands; several panels stacked in one file.
use super::scenario::positive;
use std::fmt::Write;

pub struct Series {
    pub name: String,
    pub color: &'static str,
    pub points: Vec<(f64, f64)>,
    pub dashed: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Circle,
    Triangle,
    Diamond,
}

pub struct Marker {
    pub x: f64,
    pub y: f64,
    pub shape: Shape,
    pub color: &'static str,
}

pub struct Panel {
    pub title: String,
    pub y_label: String,
    pub series: Vec<Series>,
    pub markers: Vec<Marker>,
    /// Shaded x ranges (e.g. feed outages), with a legend label.
    pub bands: Vec<(f64, f64)>,
    pub band_label: String,
}

const W: f64 = 900.0;
const H: f64 = 300.0;
const L: f64 = 80.0;
const R: f64 = 20.0;
const T: f64 = 52.0;
const B: f64 = 45.0;

/// Round tick step for a range.
pub fn nice_step(span: f64, target: usize) -> f64 {
    if !positive(span) {
        return 1.0;
    }
    let raw = span / target as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let r = raw / mag;
    let m = if r <= 1.0 {
        1.0
    } else if r <= 2.0 {
        2.0
    } else if r <= 2.5 {
        2.5
    } else if r <= 5.0 {
        5.0
    } else {
        10.0
    };
    m * mag
}

/// A tick label: thousands as `k`, millions as `M`, decimals only as fine as the step.
fn label(v: f64, step: f64) -> String {
    let v = if v.abs() < step * 1e-6 { 0.0 } else { v };
    let a = v.abs();
    // As many decimals as the step needs (2.5 -> 1, 0.25 -> 2), at most 4.
    let dec = |st: f64| {
        (0..4)
            .find(|&d| {
                let x = st * 10f64.powi(d);
                (x - x.round()).abs() < 1e-6 * x.abs().max(1.0)
            })
            .unwrap_or(4) as usize
    };
    if a >= 1e6 {
        format!("{:.*}M", dec(step / 1e6), v / 1e6)
    } else if a >= 1e3 && step >= 100.0 {
        format!("{:.*}k", dec(step / 1e3), v / 1e3)
    } else {
        format!("{:.*}", dec(step), v)
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Renders panels stacked vertically, sharing the x label.
pub fn render(panels: &[Panel], x_label: &str) -> String {
    let total_h = H * panels.len() as f64;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{total_h}" viewBox="0 0 {W} {total_h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    for (i, p) in panels.iter().enumerate() {
        panel(&mut s, p, H * i as f64, x_label);
    }
    s.push_str("</svg>\n");
    s
}

fn panel(s: &mut String, p: &Panel, y0: f64, x_label: &str) {
    let mut pts: Vec<(f64, f64)> = p
        .series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .collect();
    pts.extend(p.markers.iter().map(|m| (m.x, m.y)));
    let (mut x_min, mut x_max, mut y_min, mut y_max) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in &pts {
        if x.is_finite() && y.is_finite() {
            x_min = x_min.min(x);
            x_max = x_max.max(x);
            y_min = y_min.min(y);
            y_max = y_max.max(y);
        }
    }
    if x_min > x_max {
        (x_min, x_max, y_min, y_max) = (0.0, 1.0, 0.0, 1.0);
    }
    if x_max == x_min {
        x_max = x_min + 1.0;
    }
    if y_max == y_min {
        y_max += 1.0;
        y_min -= 1.0;
    }
    let pad = (y_max - y_min) * 0.05;
    let (y_min, y_max) = (y_min - pad, y_max + pad);
    let (pw, ph) = (W - L - R, H - T - B);
    let sx = |x: f64| L + (x - x_min) / (x_max - x_min) * pw;
    let sy = |y: f64| y0 + T + (y_max - y) / (y_max - y_min) * ph;
    let _ = writeln!(
        s,
        r#"<text x="{L}" y="{}" font-size="14" font-weight="bold">{}</text>"#,
        y0 + 18.0,
        esc(&p.title)
    );
    for &(a, b) in &p.bands {
        let (a, b) = (a.max(x_min), b.min(x_max));
        if b > a {
            let _ = writeln!(
                s,
                r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{ph:.1}" fill="#f4c7c3" opacity="0.6"/>"##,
                sx(a),
                y0 + T,
                sx(b) - sx(a)
            );
        }
    }
    // Grid and ticks.
    let ys = nice_step(y_max - y_min, 6);
    let mut y = (y_min / ys).ceil() * ys;
    while y <= y_max {
        let _ = writeln!(
            s,
            r##"<line x1="{L}" x2="{:.1}" y1="{py:.1}" y2="{py:.1}" stroke="#e0e0e0"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            L + pw,
            L - 6.0,
            sy(y) + 4.0,
            label(y, ys),
            py = sy(y)
        );
        y += ys;
    }
    let xs = nice_step(x_max - x_min, 10);
    let mut x = (x_min / xs).ceil() * xs;
    while x <= x_max + 1e-9 {
        let _ = writeln!(
            s,
            r##"<line x1="{px:.1}" x2="{px:.1}" y1="{:.1}" y2="{:.1}" stroke="#f0f0f0"/><text x="{px:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            y0 + T,
            y0 + T + ph,
            y0 + T + ph + 16.0,
            label(x, xs),
            px = sx(x)
        );
        x += xs;
    }
    let _ = writeln!(
        s,
        r##"<rect x="{L}" y="{:.1}" width="{pw:.1}" height="{ph:.1}" fill="none" stroke="#888"/>"##,
        y0 + T
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        L + pw / 2.0,
        y0 + H - 8.0,
        esc(x_label)
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(16,{:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        y0 + T + ph / 2.0,
        esc(&p.y_label)
    );
    for se in &p.series {
        let mut d = String::new();
        let mut pen_up = true;
        for &(x, y) in &se.points {
            if !(x.is_finite() && y.is_finite()) {
                pen_up = true;
                continue;
            }
            let _ = write!(
                d,
                "{}{:.1},{:.1} ",
                if pen_up { "M" } else { "L" },
                sx(x),
                sy(y)
            );
            pen_up = false;
        }
        let _ = writeln!(
            s,
            r#"<path d="{}" fill="none" stroke="{}" stroke-width="1.8"{}/>"#,
            d.trim_end(),
            se.color,
            if se.dashed {
                r#" stroke-dasharray="6,4""#
            } else {
                ""
            }
        );
    }
    for m in &p.markers {
        let (x, y) = (sx(m.x), sy(m.y));
        let _ = match m.shape {
            Shape::Circle => writeln!(
                s,
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="5" fill="{}"/>"#,
                m.color
            ),
            Shape::Triangle => writeln!(
                s,
                r#"<path d="M{:.1},{:.1} L{:.1},{:.1} L{:.1},{:.1} Z" fill="{}"/>"#,
                x,
                y + 6.0,
                x - 6.0,
                y - 5.0,
                x + 6.0,
                y - 5.0,
                m.color
            ),
            Shape::Diamond => writeln!(
                s,
                r#"<path d="M{x:.1},{:.1} L{:.1},{y:.1} L{x:.1},{:.1} L{:.1},{y:.1} Z" fill="{}"/>"#,
                y - 6.0,
                x + 6.0,
                y + 6.0,
                x - 6.0,
                m.color
            ),
        };
    }
    // Legend.
    let mut lx = L + pw - 10.0;
    let ly = y0 + 40.0;
    let mut items: Vec<(String, &str, bool)> = p
        .series
        .iter()
        .map(|s| (s.name.clone(), s.color, s.dashed))
        .collect();
    if !p.bands.is_empty() && !p.band_label.is_empty() {
        items.push((p.band_label.clone(), "#f4c7c3", false));
    }
    for (name, color, dashed) in items.iter().rev() {
        let w = 7.5 * name.len() as f64 + 36.0;
        lx -= w;
        let _ = writeln!(
            s,
            r#"<line x1="{:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="{color}" stroke-width="3"{}/><text x="{:.1}" y="{:.1}">{}</text>"#,
            lx,
            lx + 20.0,
            ly - 4.0,
            ly - 4.0,
            if *dashed {
                r#" stroke-dasharray="6,4""#
            } else {
                ""
            },
            lx + 24.0,
            ly,
            esc(name)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round() {
        assert_eq!(nice_step(1000.0, 5), 200.0);
        assert_eq!(nice_step(24.0, 10), 2.5);
        assert_eq!(nice_step(0.0, 5), 1.0);
        assert_eq!(label(-1e-12, 5_000.0), "0");
        assert_eq!(label(15_000.0, 5_000.0), "15k");
        assert_eq!(label(2_500.0, 500.0), "2.5k");
        assert_eq!(label(4.0, 2.0), "4");
        assert_eq!(label(0.75, 0.25), "0.75");
        assert_eq!(label(1_500_000.0, 500_000.0), "1.5M");
    }

    #[test]
    fn renders_lines_markers_and_bands_inside_the_plot() {
        let p = Panel {
            title: "spot <ETH>".into(),
            y_label: "USD".into(),
            series: vec![Series {
                name: "spot".into(),
                color: "#1f77b4",
                points: vec![
                    (0.0, 2000.0),
                    (12.0, 1500.0),
                    (24.0, f64::NAN),
                    (30.0, 1300.0),
                ],
                dashed: false,
            }],
            markers: vec![Marker {
                x: 12.0,
                y: 1500.0,
                shape: Shape::Triangle,
                color: "red",
            }],
            bands: vec![(5.0, 10.0)],
            band_label: "outage".into(),
        };
        let svg = render(&[p], "hours");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert!(svg.contains("spot &lt;ETH&gt;"));
        // The NaN breaks the line: two sub-paths.
        let path = svg
            .lines()
            .find(|l| l.contains("stroke=\"#1f77b4\""))
            .unwrap();
        assert_eq!(path.matches('M').count(), 2, "{path}");
        assert!(svg.contains("#f4c7c3") && svg.contains("outage"));
        // Every coordinate is inside the canvas.
        for l in svg
            .lines()
            .filter(|l| l.starts_with("<circle") || l.starts_with("<path"))
        {
            for n in l
                .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
                .filter_map(|t| t.parse::<f64>().ok())
            {
                assert!((-10.0..=910.0).contains(&n), "{n} in {l}");
            }
        }
    }
}
