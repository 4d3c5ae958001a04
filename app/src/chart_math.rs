//! The volume chart's arithmetic: axis ticks, mapping positions to times through the buckets,
//! and the windows that zooming and panning lead to. Pure functions, tested here.

use chrono::{DateTime, Duration, TimeZone, Timelike, Utc};

use crate::api::HistogramBucket;
use crate::live::Arrival;
use crate::format::month_day;

/// Round y-axis ticks from 0 covering `max`: steps of 1, 2 or 5 × 10ⁿ, 3–6 ticks.
pub fn y_ticks(max: u64) -> Vec<u64> {
    if max == 0 {
        return vec![0, 1];
    }
    let raw = max as f64 / 4.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(10.0 * magnitude).max(1.0) as u64;
    let top = max.div_ceil(step) * step;
    (0..=top / step).map(|i| i * step).collect()
}

/// Compact count labels: 950, 1.2k, 48k, 1.3M. (Integer arithmetic only: float formatting
/// would add kilobytes to the WebAssembly bundle.)
pub fn compact(n: u64) -> String {
    let one_decimal = |whole: u64, tenths: u64, unit: &str| {
        if tenths == 0 { format!("{whole}{unit}") } else { format!("{whole}.{tenths}{unit}") }
    };
    match n {
        n if n >= 1_000_000 => one_decimal(n / 1_000_000, n / 100_000 % 10, "M"),
        n if n >= 10_000 => format!("{}k", n / 1000),
        n if n >= 1_000 => one_decimal(n / 1000, n / 100 % 10, "k"),
        n => n.to_string(),
    }
}

/// A CSS percentage with three decimals, from a fraction: 0.25 → "25.000%".
pub fn percent(fraction: f64) -> String {
    let thousandths = (fraction.clamp(-10.0, 10.0) * 100_000.0).round() as i64;
    let sign = if thousandths < 0 { "-" } else { "" };
    let t = thousandths.unsigned_abs();
    format!("{sign}{}.{:03}%", t / 1000, t % 1000)
}

/// Tick intervals for the time axis, in seconds.
const X_STEPS: [i64; 14] = [60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86_400, 2 * 86_400, 7 * 86_400, 14 * 86_400, 30 * 86_400, 91 * 86_400];

/// Time-axis ticks inside `[from, to)` in the display zone (offset in minutes): at most ~8,
/// on round local times, labelled "14:30", or "Nov 21" on midnights and day-sized steps.
pub fn x_ticks(from: DateTime<Utc>, to: DateTime<Utc>, offset_minutes: i32) -> Vec<(DateTime<Utc>, String)> {
    let span = (to - from).num_seconds().max(1);
    let step = X_STEPS.into_iter().find(|s| span / s <= 8).unwrap_or(X_STEPS[X_STEPS.len() - 1]);
    let offset = i64::from(offset_minutes) * 60;
    let first = (from.timestamp() + offset).div_euclid(step) * step - offset;
    let mut ticks = Vec::new();
    let mut t = first;
    while t < to.timestamp() {
        if t >= from.timestamp() {
            if let Some(at) = DateTime::from_timestamp(t, 0) {
                let local = Utc.timestamp_opt(t + offset, 0).single().unwrap_or(at);
                let midnight = local.hour() == 0 && local.minute() == 0;
                let label = if step >= 86_400 || midnight { month_day(local) } else { format!("{:02}:{:02}", local.hour(), local.minute()) };
                ticks.push((at, label));
            }
        }
        t += step;
    }
    ticks
}

/// The time at a horizontal position (0.0 = left edge, 1.0 = right edge) of bars of equal
/// width: exact within each bucket even when buckets differ in length (DST days).
pub fn time_at(buckets: &[HistogramBucket], fraction: f64) -> Option<DateTime<Utc>> {
    let n = buckets.len();
    if n == 0 {
        return None;
    }
    let position = fraction.clamp(0.0, 1.0) * n as f64;
    let index = (position.floor() as usize).min(n - 1);
    let bucket = &buckets[index];
    let within = (position - index as f64).clamp(0.0, 1.0);
    let span_ms = (bucket.end - bucket.start).num_milliseconds() as f64;
    Some(bucket.start + Duration::milliseconds((span_ms * within).round() as i64))
}

/// The horizontal position (0.0–1.0) of time `t` over the bars: the inverse of [`time_at`].
pub fn fraction_of(buckets: &[HistogramBucket], t: DateTime<Utc>) -> f64 {
    let n = buckets.len();
    let Some(index) = buckets.iter().position(|b| b.start <= t && t < b.end) else {
        return if buckets.first().is_some_and(|b| t < b.start) { 0.0 } else { 1.0 };
    };
    let b = &buckets[index];
    let within = (t - b.start).num_milliseconds() as f64 / (b.end - b.start).num_milliseconds().max(1) as f64;
    (index as f64 + within) / n as f64
}

/// The bucket under a horizontal position.
pub fn bucket_at(buckets: &[HistogramBucket], fraction: f64) -> Option<usize> {
    (!buckets.is_empty()).then(|| ((fraction.clamp(0.0, 0.999_999) * buckets.len() as f64).floor() as usize).min(buckets.len() - 1))
}

/// The window a drag from `a` to `b` selects, kept inside `[from, to]`.
pub fn drag_window(
    buckets: &[HistogramBucket],
    a: f64,
    b: f64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let (lo, hi) = (a.min(b), a.max(b));
    let start = time_at(buckets, lo)?.max(from);
    let end = time_at(buckets, hi)?.min(to);
    (start < end).then_some((start, end))
}

/// Zooming out: twice as long around the same centre, not past `now`.
pub fn zoom_out(from: DateTime<Utc>, to: DateTime<Utc>, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let span = to - from;
    let mut start = from - span / 2;
    let mut end = to + span / 2;
    if end > now {
        start -= end - now;
        end = now;
    }
    (start, end)
}

/// Panning by half the window, earlier (`-1`) or later (`1`), not past `now`.
pub fn pan(from: DateTime<Utc>, to: DateTime<Utc>, direction: i32, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let span = to - from;
    let shift = span / 2 * direction;
    let (mut start, mut end) = (from + shift, to + shift);
    if end > now {
        start -= end - now;
        end = now;
    }
    (start, end)
}

/// "Nov 21, 14:00 – 14:30" (the date once when both ends share it; seconds when they matter).
pub fn window_label(start: DateTime<Utc>, end: DateTime<Utc>, offset_minutes: i32) -> String {
    crate::format::range_label(&crate::query::TimeRange::absolute(start, end), offset_minutes)
}

/// The bars with the live arrivals after `position` (what the histogram already counted)
/// added. Arrivals past the last bar get new bars of the same width — with Live on, the
/// range moves on — at most as many new bars as there were bars.
pub fn with_arrivals(buckets: &[HistogramBucket], width_seconds: i64, position: i64, arrivals: &[Arrival]) -> Vec<HistogramBucket> {
    let mut bars = buckets.to_vec();
    let width = Duration::seconds(width_seconds.max(1));
    for a in arrivals.iter().filter(|a| a.position > position) {
        while let Some(last) = bars.last().filter(|l| a.at >= l.end && bars.len() < buckets.len() * 2) {
            let start = last.end;
            bars.push(HistogramBucket { start, end: start + width, success: 0, failure: 0 });
        }
        if let Some(bar) = bars.iter_mut().find(|b| b.start <= a.at && a.at < b.end) {
            if a.outcome == crate::event::Outcome::Failure {
                bar.failure += 1;
            } else {
                bar.success += 1;
            }
        }
    }
    bars
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("time").with_timezone(&Utc)
    }

    fn buckets(start: &str, n: usize, seconds: i64) -> Vec<HistogramBucket> {
        (0..n)
            .map(|i| HistogramBucket {
                start: t(start) + Duration::seconds(seconds * i as i64),
                end: t(start) + Duration::seconds(seconds * (i as i64 + 1)),
                success: 0,
                failure: 0,
            })
            .collect()
    }

    #[test]
    fn y_ticks_are_round_and_cover_the_maximum() {
        assert_eq!(y_ticks(0), vec![0, 1]);
        assert_eq!(y_ticks(7), vec![0, 2, 4, 6, 8]);
        assert_eq!(y_ticks(100), vec![0, 50, 100]);
        assert_eq!(y_ticks(1234), vec![0, 500, 1000, 1500]);
        let ticks = y_ticks(98_765);
        assert!(ticks.len() >= 3 && ticks.len() <= 7 && *ticks.last().expect("top") >= 98_765, "{ticks:?}");
    }

    #[test]
    fn percentages_without_float_formatting() {
        assert_eq!(percent(0.25), "25.000%");
        assert_eq!(percent(0.123456), "12.346%");
        assert_eq!(percent(1.0), "100.000%");
        assert_eq!(percent(0.0), "0.000%");
    }

    #[test]
    fn compact_numbers() {
        assert_eq!(compact(950), "950");
        assert_eq!(compact(1200), "1.2k");
        assert_eq!(compact(2000), "2k");
        assert_eq!(compact(48_300), "48k");
        assert_eq!(compact(1_300_000), "1.3M");
    }

    #[test]
    fn x_ticks_fall_on_round_local_times() {
        let ticks = x_ticks(t("2026-11-20T10:17:00Z"), t("2026-11-21T10:17:00Z"), 60);
        assert!(ticks.len() >= 4 && ticks.len() <= 8, "{ticks:?}");
        assert_eq!(ticks[0].1, "12:00", "3-hour steps on the local clock (UTC+1)");
        assert!(ticks.iter().any(|(_, l)| l == "Nov 21"), "midnight shows the date: {ticks:?}");
        let month = x_ticks(t("2026-10-22T00:00:00Z"), t("2026-11-21T00:00:00Z"), 0);
        assert!(month.iter().all(|(_, l)| l.contains(' ')), "dates: {month:?}");
    }

    #[test]
    fn positions_map_to_times_through_the_buckets() {
        let b = buckets("2026-11-21T10:00:00Z", 4, 600);
        assert_eq!(time_at(&b, 0.0), Some(t("2026-11-21T10:00:00Z")));
        assert_eq!(time_at(&b, 0.5), Some(t("2026-11-21T10:20:00Z")));
        assert_eq!(time_at(&b, 1.0), Some(t("2026-11-21T10:40:00Z")));
        assert_eq!(bucket_at(&b, 0.99), Some(3));
        assert_eq!(fraction_of(&b, t("2026-11-21T10:20:00Z")), 0.5);
        assert_eq!(fraction_of(&b, t("2026-11-21T09:00:00Z")), 0.0);
        assert_eq!(bucket_at(&b, 1.0), Some(3));
        let (from, to) = (t("2026-11-21T10:05:00Z"), t("2026-11-21T10:35:00Z"));
        assert_eq!(drag_window(&b, 0.75, 0.0, from, to), Some((from, t("2026-11-21T10:30:00Z"))), "clamped to the range");
        assert_eq!(drag_window(&b, 0.3, 0.3, from, to), None);
    }

    #[test]
    fn zoom_out_and_pan_stay_before_now() {
        let now = t("2026-11-21T12:00:00Z");
        assert_eq!(zoom_out(t("2026-11-21T10:00:00Z"), t("2026-11-21T11:00:00Z"), now), (t("2026-11-21T09:30:00Z"), t("2026-11-21T11:30:00Z")));
        assert_eq!(zoom_out(t("2026-11-21T11:00:00Z"), t("2026-11-21T12:00:00Z"), now), (t("2026-11-21T10:00:00Z"), now));
        assert_eq!(pan(t("2026-11-21T10:00:00Z"), t("2026-11-21T11:00:00Z"), -1, now), (t("2026-11-21T09:30:00Z"), t("2026-11-21T10:30:00Z")));
        assert_eq!(pan(t("2026-11-21T11:00:00Z"), t("2026-11-21T12:00:00Z"), 1, now), (t("2026-11-21T11:00:00Z"), now));
    }

    #[test]
    fn window_labels() {
        assert_eq!(window_label(t("2026-11-21T14:00:00Z"), t("2026-11-21T14:30:00Z"), 0), "Nov 21, 14:00 – 14:30");
        assert_eq!(window_label(t("2026-11-21T23:00:00Z"), t("2026-11-22T01:00:00Z"), 0), "Nov 21, 23:00 – Nov 22, 01:00");
    }

    #[test]
    fn live_arrivals_are_counted_once_and_drawn_past_the_last_bar() {
        use crate::event::Outcome;
        let t0 = DateTime::from_timestamp(1_764_000_000, 0).expect("t");
        let bar = |i: i64, success| HistogramBucket { start: t0 + Duration::minutes(i), end: t0 + Duration::minutes(i + 1), success, failure: 0 };
        let buckets = vec![bar(0, 2), bar(1, 1)];
        let arrive = |position, secs: i64, outcome| Arrival { position, at: t0 + Duration::seconds(secs), outcome };
        let arrivals = [
            arrive(10, 70, Outcome::Success),  // counted by the histogram already (position <= 10)
            arrive(11, 75, Outcome::Failure),  // in the last bar
            arrive(12, 130, Outcome::Success), // past it: a new bar
        ];
        let bars = with_arrivals(&buckets, 60, 10, &arrivals);
        assert_eq!(bars.len(), 3);
        assert_eq!((bars[1].success, bars[1].failure), (1, 1), "position 10 was in the histogram: not twice");
        assert_eq!((bars[2].start, bars[2].success), (t0 + Duration::minutes(2), 1));
        let total: u64 = bars.iter().map(|b| b.success + b.failure).sum();
        assert_eq!(total, 3 + 2, "every arrival after the position, exactly once");
    }
}
