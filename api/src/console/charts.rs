//! The overview's last-hour charts, drawn on the server as inline SVG (no
//! script, no library): a line per series over the minutes of the last
//! hour, scaled to the largest value, with a caption that gives the latest
//! and the peak of each in words, for readers the picture does not reach.

use maud::{Markup, html};

/// One line of a chart: a value per minute, `None` where there is none.
pub struct Series<'a> {
    pub name: &'a str,
    /// Its colour: a `series-*` class of the style sheet.
    pub class: &'a str,
    pub values: Vec<Option<f64>>,
}

const WIDTH: f64 = 560.0;
const HEIGHT: f64 = 130.0;
/// Room on the left for the scale, and below for the time axis.
const LEFT: f64 = 52.0;
const BOTTOM: f64 = 18.0;

/// A chart titled `title` of `series`, whose values are in `unit`.
pub fn line_chart(id: &str, title: &str, unit: &str, series: &[Series<'_>]) -> Markup {
    let top = series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .fold(0.0_f64, |top, &v| top.max(v));
    // A flat hour still gets a scale.
    let scale = if top > 0.0 { nice_ceiling(top) } else { 1.0 };
    let points = series.first().map_or(0, |s| s.values.len()).max(2);
    let x = |i: usize| LEFT + (WIDTH - LEFT) * i as f64 / (points - 1) as f64;
    let y = |v: f64| (HEIGHT - BOTTOM) * (1.0 - v / scale);
    html! {
        figure.chart aria-labelledby={ (id) "-caption" } {
            svg width=(WIDTH) height=(HEIGHT) viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img" aria-labelledby={ (id) "-caption" } {
                line.axis x1=(LEFT) y1=(HEIGHT - BOTTOM) x2=(WIDTH) y2=(HEIGHT - BOTTOM) {}
                line.axis x1=(LEFT) y1="0" x2=(LEFT) y2=(HEIGHT - BOTTOM) {}
                text x=(LEFT - 4.0) y="10" text-anchor="end" { (number(scale)) }
                text x=(LEFT - 4.0) y=(HEIGHT - BOTTOM) text-anchor="end" { "0" }
                text x=(LEFT) y=(HEIGHT - 4.0) { "60 min ago" }
                text x=(WIDTH) y=(HEIGHT - 4.0) text-anchor="end" { "now" }
                @for s in series {
                    path class=(s.class) d=(path(&s.values, x, y)) {}
                }
            }
            figcaption id={ (id) "-caption" } {
                strong { (title) } " (" (unit) ")"
                @for s in series {
                    span class=(s.class) { span.key {} } (s.name) ": "
                    (s.values.last().copied().flatten().map_or("none".to_owned(), number)) " now, "
                    (s.values.iter().flatten().copied().reduce(f64::max).map_or("none".to_owned(), number)) " at most"
                }
            }
        }
    }
}

/// An SVG path through the values, broken where one is missing.
fn path(values: &[Option<f64>], x: impl Fn(usize) -> f64, y: impl Fn(f64) -> f64) -> String {
    let mut d = String::new();
    let mut drawing = false;
    for (i, value) in values.iter().enumerate() {
        match value {
            Some(v) => {
                d.push_str(if drawing { " L" } else { " M" });
                d.push_str(&format!("{:.1} {:.1}", x(i), y(*v)));
                drawing = true;
            }
            None => drawing = false,
        }
    }
    d
}

/// The smallest of 1, 2 or 5 times a power of ten at or above `v`.
fn nice_ceiling(v: f64) -> f64 {
    let power = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|&c| c >= v)
        .unwrap_or(10.0 * power)
}

/// A number as a chart shows it: whole when large, two digits when small.
fn number(v: f64) -> String {
    if v >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_round_up_to_one_two_or_five() {
        assert_eq!(nice_ceiling(0.3), 0.5);
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(120.0), 200.0);
        assert_eq!(nice_ceiling(200.0), 200.0);
    }

    #[test]
    fn a_missing_minute_breaks_the_line() {
        let d = path(
            &[Some(1.0), None, Some(2.0), Some(3.0)],
            |i| i as f64,
            |v| v,
        );
        assert_eq!(d, " M0.0 1.0 M2.0 2.0 L3.0 3.0");
    }
}
