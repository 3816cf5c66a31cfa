//! Dates and times of exceptions and maintenance windows, without a calendar dependency.
//! Timestamps are nanoseconds since the Unix epoch (UTC), like the engine's.

use serde::Serialize;

const NS_PER_SEC: i64 = 1_000_000_000;
const NS_PER_MIN: i64 = 60 * NS_PER_SEC;
const NS_PER_DAY: i64 = 86_400 * NS_PER_SEC;
const MIN_PER_WEEK: i64 = 7 * 24 * 60;

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of days since 1970-01-01.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// Formats a timestamp as `YYYY-MM-DDTHH:MM:SSZ` (whole seconds).
pub fn format_rfc3339(ts: i64) -> String {
    let secs = ts.div_euclid(NS_PER_SEC);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    )
}

/// A parsed RFC 3339 value: a whole day or an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateOrInstant {
    /// `YYYY-MM-DD`: the UTC day starting at this timestamp.
    Date(i64),
    /// A full date-time with offset.
    Instant(i64),
}

fn digits(s: &[u8], n: usize) -> Option<u32> {
    let part = s.get(..n)?;
    let mut v: u32 = 0;
    for &b in part {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u32::from(b - b'0'))?;
    }
    Some(v)
}

/// Parses `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS[.frac]](Z|±HH:MM)`.
pub(crate) fn parse_rfc3339(text: &str) -> Result<DateOrInstant, String> {
    let bad = || {
        format!(
            "\"{text}\" is not an RFC 3339 date (2026-12-31) or date-time (2026-12-31T18:00:00Z)"
        )
    };
    let s = text.trim().as_bytes();
    let y = digits(s, 4).ok_or_else(bad)?;
    if s.get(4) != Some(&b'-') || s.get(7) != Some(&b'-') {
        return Err(bad());
    }
    let m = s.get(5..).and_then(|r| digits(r, 2)).ok_or_else(bad)?;
    let d = s.get(8..).and_then(|r| digits(r, 2)).ok_or_else(bad)?;
    let y = i64::from(y);
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return Err(format!("\"{text}\" is not a valid calendar date"));
    }
    let day_ns = days_from_civil(y, m, d)
        .checked_mul(NS_PER_DAY)
        .ok_or_else(bad)?;
    let rest = s.get(10..).unwrap_or(&[]);
    if rest.is_empty() {
        return Ok(DateOrInstant::Date(day_ns));
    }
    if !matches!(rest.first(), Some(b'T' | b't' | b' ')) {
        return Err(bad());
    }
    let t = rest.get(1..).unwrap_or(&[]);
    let hh = digits(t, 2).ok_or_else(bad)?;
    if t.get(2) != Some(&b':') {
        return Err(bad());
    }
    let mm = t.get(3..).and_then(|r| digits(r, 2)).ok_or_else(bad)?;
    let mut i = 5;
    let mut ss = 0;
    let mut frac_ns: i64 = 0;
    if t.get(i) == Some(&b':') {
        ss = t.get(i + 1..).and_then(|r| digits(r, 2)).ok_or_else(bad)?;
        i += 3;
        if t.get(i) == Some(&b'.') {
            i += 1;
            let mut scale = 100_000_000i64;
            let start = i;
            while let Some(b) = t.get(i).filter(|b| b.is_ascii_digit()) {
                frac_ns += i64::from(b - b'0') * scale;
                scale /= 10;
                i += 1;
            }
            if i == start {
                return Err(bad());
            }
        }
    }
    if hh > 23 || mm > 59 || ss > 60 {
        return Err(format!("\"{text}\" has an invalid time of day"));
    }
    let offset_min: i64 = match t.get(i) {
        Some(b'Z' | b'z') if t.len() == i + 1 => 0,
        Some(&sign @ (b'+' | b'-')) if t.len() == i + 6 => {
            let oh = t.get(i + 1..).and_then(|r| digits(r, 2)).ok_or_else(bad)?;
            let om = t.get(i + 4..).and_then(|r| digits(r, 2)).ok_or_else(bad)?;
            if t.get(i + 3) != Some(&b':') || oh > 23 || om > 59 {
                return Err(bad());
            }
            let v = i64::from(oh * 60 + om);
            if sign == b'-' {
                -v
            } else {
                v
            }
        }
        None => {
            return Err(format!(
                "\"{text}\" has no UTC offset: add Z or an offset like +01:00"
            ))
        }
        _ => return Err(bad()),
    };
    // A leap second (:60) counts as the next second.
    let secs = i64::from(hh) * 3600 + i64::from(mm) * 60 + i64::from(ss) - offset_min * 60;
    secs.checked_mul(NS_PER_SEC)
        .and_then(|v| v.checked_add(frac_ns))
        .and_then(|v| v.checked_add(day_ns))
        .map(DateOrInstant::Instant)
        .ok_or_else(bad)
}

/// Parses a UTC offset: `Z`, `UTC`, `+01:00`, `-05:00`. Returns minutes east of UTC.
pub(crate) fn parse_offset(text: &str) -> Result<i64, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("z") || t.eq_ignore_ascii_case("utc") {
        return Ok(0);
    }
    let b = t.as_bytes();
    let bad = || format!("\"{text}\" is not a UTC offset like +01:00, -05:00 or Z");
    let sign = match b.first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Err(bad()),
    };
    if b.len() != 6 || b.get(3) != Some(&b':') {
        return Err(bad());
    }
    let h = b.get(1..).and_then(|r| digits(r, 2)).ok_or_else(bad)?;
    let m = b.get(4..).and_then(|r| digits(r, 2)).ok_or_else(bad)?;
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok(sign * i64::from(h * 60 + m))
}

/// One weekly slot, e.g. `Sat 02:00-06:00` (site local time, see `[site] utc_offset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WeeklySlot {
    /// Minute of the week the slot opens (Monday 00:00 = 0).
    pub start_minute: u32,
    /// Length in minutes (1 to one week).
    pub minutes: u32,
}

const DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let h: u32 = h.parse().ok()?;
    let m: u32 = m.parse().ok()?;
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return None;
    }
    Some(h * 60 + m)
}

impl WeeklySlot {
    /// Parses `Sat 02:00-06:00` (day names in English, 3 letters or full; a slot whose end
    /// is not after its start runs past midnight into the next day).
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("\"{text}\" is not a weekly slot like \"Sat 02:00-06:00\"");
        let mut parts = text.split_whitespace();
        let (day, span) = match (parts.next(), parts.next(), parts.next()) {
            (Some(d), Some(s), None) => (d, s),
            _ => return Err(bad()),
        };
        let day_lc = day.to_ascii_lowercase();
        let dow = DAYS
            .iter()
            .position(|d| day_lc.len() >= 3 && d.starts_with(day_lc.as_str()))
            .ok_or_else(bad)?;
        let (a, b) = span.split_once('-').ok_or_else(bad)?;
        let start = parse_hhmm(a).ok_or_else(bad)?;
        let end = parse_hhmm(b).ok_or_else(bad)?;
        if start >= 24 * 60 {
            return Err(bad());
        }
        let minutes = if end > start {
            end - start
        } else {
            end + 24 * 60 - start
        };
        let dow = u32::try_from(dow).map_err(|_| bad())?;
        Ok(WeeklySlot {
            start_minute: dow * 24 * 60 + start,
            minutes,
        })
    }

    /// Whether the slot is open at `ts` given the site's offset from UTC in minutes.
    pub fn contains(&self, ts: i64, utc_offset_min: i64) -> bool {
        let local_min = ts.div_euclid(NS_PER_MIN) + utc_offset_min;
        // 1970-01-01 was a Thursday: minute 0 of the epoch is minute 3 days into the week.
        let mow = (local_min + 3 * 24 * 60).rem_euclid(MIN_PER_WEEK);
        (mow - i64::from(self.start_minute)).rem_euclid(MIN_PER_WEEK) < i64::from(self.minutes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for days in [-800_000, -1, 0, 1, 10_957, 11_016, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn rfc3339_forms() {
        assert_eq!(
            parse_rfc3339("2021-02-05T13:30:00Z"),
            Ok(DateOrInstant::Instant(1_612_531_800 * NS_PER_SEC))
        );
        assert_eq!(
            parse_rfc3339("2021-02-05T08:30:00-05:00"),
            Ok(DateOrInstant::Instant(1_612_531_800 * NS_PER_SEC))
        );
        assert_eq!(
            parse_rfc3339("2021-02-05 13:30:00.5Z"),
            Ok(DateOrInstant::Instant(
                1_612_531_800 * NS_PER_SEC + 500_000_000
            ))
        );
        assert_eq!(
            parse_rfc3339("1970-01-02"),
            Ok(DateOrInstant::Date(NS_PER_DAY))
        );
        assert!(parse_rfc3339("2021-02-30").is_err());
        assert!(parse_rfc3339("2021-02-05T13:30:00").is_err());
        assert!(parse_rfc3339("2021-02-05T25:30:00Z").is_err());
        assert!(parse_rfc3339("tomorrow").is_err());
        assert!(parse_rfc3339("").is_err());
        assert_eq!(
            format_rfc3339(1_612_531_800 * NS_PER_SEC),
            "2021-02-05T13:30:00Z"
        );
    }

    #[test]
    fn weekly_slots() {
        let s = WeeklySlot::parse("Sat 02:00-06:00").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.start_minute, 5 * 1440 + 120);
        assert_eq!(s.minutes, 240);
        // 2021-02-06 was a Saturday.
        let sat = days_from_civil(2021, 2, 6) * NS_PER_DAY;
        assert!(!s.contains(sat + 119 * NS_PER_MIN, 0));
        assert!(s.contains(sat + 120 * NS_PER_MIN, 0));
        assert!(s.contains(sat + 359 * NS_PER_MIN, 0));
        assert!(!s.contains(sat + 360 * NS_PER_MIN, 0));
        // 02:30 local at UTC+01:00 is 01:30 UTC.
        assert!(s.contains(sat + 90 * NS_PER_MIN, 60));
        let wrap = WeeklySlot::parse("sunday 22:00-02:00").unwrap_or_else(|e| panic!("{e}"));
        let mon = days_from_civil(2021, 2, 8) * NS_PER_DAY;
        assert!(wrap.contains(mon + 60 * NS_PER_MIN, 0));
        assert!(!wrap.contains(mon + 120 * NS_PER_MIN, 0));
        assert!(WeeklySlot::parse("Sa 02:00-06:00").is_err());
        assert!(WeeklySlot::parse("Sat 2:00").is_err());
        assert!(WeeklySlot::parse("Sat 24:00-02:00").is_err());
    }
}
