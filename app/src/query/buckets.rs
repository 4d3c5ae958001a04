//! Histogram bucket widths: a ladder of round sizes, chosen so a range shows 40–120 bars.

/// Round widths in seconds: 1s … 30s, 1m … 30m, 1h … 12h, 1d, 2d, 7d, 14d, 30d.
pub const LADDER: [i64; 18] = [
    1, 5, 10, 30, 60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86_400, 2 * 86_400, 7 * 86_400,
    14 * 86_400, 30 * 86_400, 90 * 86_400,
];

/// At most this many bars.
pub const MAX_BARS: i64 = 120;

/// The smallest width on the ladder that gives at most 120 bars for `range_seconds`; past
/// the ladder (ranges of decades), whole days, as many as it takes to stay within 120 bars.
pub fn bucket_width(range_seconds: i64) -> i64 {
    let range = range_seconds.max(1);
    LADDER.into_iter().find(|w| (range + w - 1) / w <= MAX_BARS).unwrap_or_else(|| {
        // One bar less: aligning the first bucket to a calendar boundary may add one.
        let days = (range + (MAX_BARS - 1) * 86_400 - 1) / ((MAX_BARS - 1) * 86_400);
        days.max(90) * 86_400
    })
}

/// Day-sized widths follow the calendar of the viewer's time zone.
pub fn is_calendar_width(width_seconds: i64) -> bool {
    width_seconds >= 86_400
}

/// A short label for a width: `30s`, `10m`, `3h`, `1d`.
pub fn width_label(width_seconds: i64) -> String {
    match width_seconds {
        w if w % 86_400 == 0 => format!("{}d", w / 86_400),
        w if w % 3600 == 0 => format!("{}h", w / 3600),
        w if w % 60 == 0 => format!("{}m", w / 60),
        w => format!("{w}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_get_between_40_and_120_bars() {
        for (range, expected) in [(15 * 60, 10), (3600, 30), (24 * 3600, 1800), (7 * 86_400, 3 * 3600), (30 * 86_400, 6 * 3600), (365 * 86_400, 7 * 86_400)] {
            let width = bucket_width(range);
            assert_eq!(width, expected, "range {range}");
            let bars = range / width;
            assert!((40..=120).contains(&bars), "{range}s -> {bars} bars of {width}s");
        }
    }

    #[test]
    fn tiny_and_huge_ranges_stay_on_the_ladder() {
        assert_eq!(bucket_width(0), 1);
        assert_eq!(bucket_width(90), 1);
        assert_eq!(bucket_width(25 * 365 * 86_400), 90 * 86_400);
    }

    #[test]
    fn ranges_beyond_the_ladder_still_get_at_most_120_bars() {
        for years in [30, 100, 9999] {
            let range = years * 365 * 86_400;
            let width = bucket_width(range);
            assert_eq!(width % 86_400, 0);
            assert!((range + width - 1) / width < MAX_BARS, "{years} years: {} bars", range / width);
        }
    }

    #[test]
    fn labels() {
        assert_eq!(width_label(30), "30s");
        assert_eq!(width_label(600), "10m");
        assert_eq!(width_label(10_800), "3h");
        assert_eq!(width_label(172_800), "2d");
    }
}
