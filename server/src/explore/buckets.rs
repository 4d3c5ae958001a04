//! Bucket boundaries for the histogram, aligned to the viewer's clock: sub-day widths to the
//! wall clock of the time zone, day-sized widths to its local midnights (DST-aware).

use chrono::{DateTime, Datelike, Days, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// Boundaries `b0 <= from < ... < bn >= to`: bucket i is `[b[i], b[i+1])`.
pub fn boundaries(from: DateTime<Utc>, to: DateTime<Utc>, width_seconds: i64, tz: Tz) -> Vec<DateTime<Utc>> {
    if app::query::buckets::is_calendar_width(width_seconds) {
        return calendar_boundaries(from, to, width_seconds / 86_400, tz);
    }
    let offset = i64::from(tz.offset_from_utc_datetime(&from.naive_utc()).fix().local_minus_utc());
    let start = (from.timestamp() + offset).div_euclid(width_seconds) * width_seconds - offset;
    let mut bounds = Vec::new();
    let mut t = start;
    loop {
        bounds.push(DateTime::from_timestamp(t, 0).unwrap_or(from));
        if t >= to.timestamp() && bounds.len() > 1 {
            break;
        }
        t += width_seconds;
    }
    if bounds.last().is_some_and(|b| *b < to) {
        bounds.push(to);
    }
    bounds
}

fn calendar_boundaries(from: DateTime<Utc>, to: DateTime<Utc>, days: i64, tz: Tz) -> Vec<DateTime<Utc>> {
    let local_day = from.with_timezone(&tz).date_naive();
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 5).unwrap_or_default(); // a Monday
    let since = (local_day - epoch).num_days();
    let mut day = local_day - Days::new(u64::try_from(since.rem_euclid(days)).unwrap_or(0));
    if days == 30 || days == 90 {
        // Months and quarters read better from the first of a month.
        day = NaiveDate::from_ymd_opt(local_day.year(), local_day.month(), 1).unwrap_or(local_day);
    }
    let mut bounds = Vec::new();
    loop {
        let midnight = local_midnight(day, tz);
        bounds.push(midnight);
        if midnight >= to && bounds.len() > 1 {
            break;
        }
        day = day + Days::new(u64::try_from(days).unwrap_or(1));
    }
    bounds
}

/// The instant a local day starts (01:00 where a DST change skips midnight).
fn local_midnight(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let naive = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    tz.from_local_datetime(&naive)
        .earliest()
        .or_else(|| tz.from_local_datetime(&(naive + chrono::Duration::hours(1))).earliest())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&naive))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("time").with_timezone(&Utc)
    }

    #[test]
    fn sub_day_buckets_align_to_the_wall_clock() {
        let b = boundaries(t("2026-11-20T10:17:33Z"), t("2026-11-21T10:17:33Z"), 1800, Tz::UTC);
        assert_eq!(b[0], t("2026-11-20T10:00:00Z"));
        assert_eq!(b[1], t("2026-11-20T10:30:00Z"));
        assert_eq!(*b.last().expect("end"), t("2026-11-21T10:30:00Z"));
        assert_eq!(b.len(), 50);
        // India is UTC+5:30: hour buckets start on the local hour.
        let india = boundaries(t("2026-11-20T10:17:00Z"), t("2026-11-20T20:00:00Z"), 3600, Tz::Asia__Kolkata);
        assert_eq!(india[0], t("2026-11-20T09:30:00Z"));
    }

    #[test]
    fn day_buckets_follow_local_midnight_across_dst() {
        // Europe/Berlin leaves summer time on 2026-10-25: that day has 25 hours.
        let b = boundaries(t("2026-10-23T12:00:00Z"), t("2026-10-27T12:00:00Z"), 86_400, Tz::Europe__Berlin);
        assert_eq!(b[0], t("2026-10-22T22:00:00Z"), "midnight in summer time (UTC+2)");
        assert_eq!(b[3], t("2026-10-25T23:00:00Z"), "midnight in winter time (UTC+1)");
        assert_eq!(b[3] - b[2], chrono::Duration::hours(25));
        assert!(*b.last().expect("end") >= t("2026-10-27T12:00:00Z"));
    }

    #[test]
    fn weeks_start_on_monday() {
        let b = boundaries(t("2026-11-19T12:00:00Z"), t("2027-02-19T12:00:00Z"), 7 * 86_400, Tz::UTC);
        assert_eq!(b[0], t("2026-11-16T00:00:00Z"));
        assert_eq!(b[0].weekday(), chrono::Weekday::Mon);
    }
}
