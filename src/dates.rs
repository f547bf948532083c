//! Calendar arithmetic on UTC milliseconds, without a date crate: the service needs only
//! day and month boundaries (InMail months, report days, `from`/`to` parameters).

use crate::domain::Millis;

pub const DAY_MS: Millis = 86_400_000;

/// Gregorian (year, month, day) from days since 1970-01-01 (Hinnant's civil algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Month bucket for InMail credits, e.g. 202611.
pub fn month_of(time: Millis) -> u32 {
    let (year, month, _) = civil_from_days(time.div_euclid(DAY_MS));
    (year as u32) * 100 + month
}

/// Days since 1970-01-01 of a Gregorian date (inverse of [`civil_from_days`]).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let month = i64::from(month);
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` of a time.
pub fn format_day(time: Millis) -> String {
    let (y, m, d) = civil_from_days(time.div_euclid(DAY_MS));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Parses `YYYY-MM-DD` (midnight UTC) or a plain number of milliseconds since the epoch.
pub fn parse_time(text: &str) -> Result<Millis, String> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse()
            .map_err(|_| format!("{text:?} is out of range"));
    }
    let parts: Vec<&str> = text.split('-').collect();
    let bad = || format!("{text:?} is neither YYYY-MM-DD nor milliseconds since 1970");
    if parts.len() != 3 || parts[0].len() != 4 || parts[1].len() != 2 || parts[2].len() != 2 {
        return Err(bad());
    }
    let year: i64 = parts[0].parse().map_err(|_| bad())?;
    let month: u32 = parts[1].parse().map_err(|_| bad())?;
    let day: u32 = parts[2].parse().map_err(|_| bad())?;
    let days = days_from_civil(year, month, day);
    if !(1..=12).contains(&month) || civil_from_days(days) != (year, month, day) {
        return Err(bad());
    }
    Ok(days * DAY_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_follow_the_calendar() {
        assert_eq!(month_of(0), 197001);
        // 2026-11-30T23:59:59.999Z and the next millisecond.
        assert_eq!(month_of(1_796_083_199_999), 202611);
        assert_eq!(month_of(1_796_083_200_000), 202612);
    }

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        for days in [-800_000, -1, 0, 59, 60, 19_782, 20_784, 1_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn times_parse_from_dates_or_millis() {
        assert_eq!(parse_time("1970-01-02"), Ok(DAY_MS));
        assert_eq!(parse_time("1796083200000"), Ok(1_796_083_200_000));
        assert_eq!(parse_time("2026-12-01"), Ok(1_796_083_200_000));
        assert!(parse_time("2026-02-30").is_err());
        assert!(parse_time("yesterday").is_err());
        assert_eq!(format_day(1_796_083_200_000), "2026-12-01");
    }
}
