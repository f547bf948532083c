//! Charts as inline SVG, drawn with plotters' SVG backend.
//!
//! plotters is built without its default features: no bitmap backend, no font loading.
//! Text goes into the SVG as `<text>` elements that the viewer's own sans-serif font draws,
//! so the page needs no font files and no network, and it prints sharp at any size.

use plotters::prelude::*;

const WIDTH: u32 = 1000;
const HEIGHT: u32 = 320;

/// A named series of one value per day.
pub struct Series<'a> {
    pub name: &'a str,
    pub values: Vec<u64>,
    pub color: RGBColor,
}

pub const GREEN: RGBColor = RGBColor(0x2e, 0x7d, 0x32);
pub const BLUE: RGBColor = RGBColor(0x15, 0x65, 0xc0);
pub const ORANGE: RGBColor = RGBColor(0xef, 0x6c, 0x00);
pub const RED: RGBColor = RGBColor(0xc6, 0x28, 0x28);
pub const GREY: RGBColor = RGBColor(0x54, 0x6e, 0x7a);

type ChartResult = Result<(), Box<dyn std::error::Error>>;

/// A line chart of daily series over `days` (`YYYY-MM-DD` labels).
pub fn daily_lines(title: &str, y_label: &str, days: &[String], series: &[Series<'_>]) -> String {
    draw(|svg| {
        let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let top = series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .max()
            .unwrap_or(0);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .margin_right(48)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0..days.len().saturating_sub(1).max(1), 0..headroom(top))?;
        chart
            .configure_mesh()
            .x_labels(days.len().clamp(1, 10))
            .x_label_formatter(&|i| days.get(*i).cloned().unwrap_or_default())
            .label_style(("sans-serif", 14))
            .y_desc(y_label)
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        for s in series {
            let color = s.color;
            let points = || s.values.iter().enumerate().map(|(i, v)| (i, *v));
            chart
                .draw_series(LineSeries::new(points(), color.stroke_width(2)))?
                .label(s.name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3))
                });
            chart.draw_series(points().map(|p| Circle::new(p, 3, color.filled())))?;
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        root.present()?;
        Ok(())
    })
}

/// Side-by-side bars per bin: `bins` are `(from, to, [value per series])` on `[0, 1]`.
pub fn binned_bars(
    title: &str,
    x_label: &str,
    bins: &[(f64, f64, Vec<u64>)],
    names: &[(&str, RGBColor)],
) -> String {
    draw(|svg| {
        let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let top = bins
            .iter()
            .flat_map(|(_, _, v)| v.iter().copied())
            .max()
            .unwrap_or(0);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0f64..1.0f64, 0..headroom(top))?;
        chart
            .configure_mesh()
            .x_labels(11)
            .x_label_formatter(&|x| format!("{x:.1}"))
            .label_style(("sans-serif", 14))
            .x_desc(x_label)
            .y_desc("messages")
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        let groups = names.len().max(1) as f64;
        for (k, (name, color)) in names.iter().enumerate() {
            let color = *color;
            let bars = bins.iter().map(|(from, to, values)| {
                let width = (to - from) / groups;
                let x0 = from + width * k as f64 + width * 0.05;
                let x1 = from + width * (k + 1) as f64 - width * 0.05;
                let value = values.get(k).copied().unwrap_or(0);
                Rectangle::new([(x0, 0), (x1, value)], color.filled())
            });
            chart.draw_series(bars)?.label(*name).legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
            });
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperMiddle)?;
        root.present()?;
        Ok(())
    })
}

/// The series legend, in one style for every chart.
fn draw_legend<'a, X, Y>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
    position: SeriesLabelPosition,
) -> ChartResult
where
    X: Ranged,
    Y: Ranged,
{
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 14))
        .draw()?;
    Ok(())
}

/// A y range a little above the largest value, never empty.
fn headroom(top: u64) -> u64 {
    top + top / 10 + 1
}

/// Runs a drawing into an SVG string; a drawing error becomes a visible note instead of a
/// broken page.
fn draw(paint: impl FnOnce(&mut String) -> ChartResult) -> String {
    let mut svg = String::new();
    match paint(&mut svg) {
        Ok(()) => svg,
        Err(error) => format!("<p class=\"note\">chart unavailable: {error}</p>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_chart_is_an_svg_with_its_title_and_legend() {
        let days = vec!["2026-11-01".to_string(), "2026-11-02".to_string()];
        let svg = daily_lines(
            "Messages per day",
            "messages",
            &days,
            &[Series {
                name: "held",
                values: vec![3, 7],
                color: ORANGE,
            }],
        );
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("Messages per day"));
        assert!(svg.contains("held"), "{svg}");
        assert!(svg.contains("2026-11-02"));
    }

    #[test]
    fn a_single_day_still_draws() {
        let days = vec!["2026-11-01".to_string()];
        let svg = daily_lines(
            "one day",
            "n",
            &days,
            &[Series {
                name: "x",
                values: vec![0],
                color: RED,
            }],
        );
        assert!(svg.starts_with("<svg"), "{svg}");
    }
}
