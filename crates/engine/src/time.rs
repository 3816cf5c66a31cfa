//! RFC 3339 formatting of capture timestamps (UTC), without a calendar dependency.

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian calendar (also
/// used by the fast JSON encoder).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Formats nanoseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (microseconds
/// unless the value has sub-microsecond precision, then nanoseconds).
pub fn rfc3339(ts_ns: i64) -> String {
    let secs = ts_ns.div_euclid(1_000_000_000);
    let nanos = ts_ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (sod / 3600, (sod % 3600) / 60, sod % 60);
    if nanos % 1000 == 0 {
        format!(
            "{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{:06}Z",
            nanos / 1000
        )
    } else {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{nanos:09}Z")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000Z");
        // 2021-02-05 (Oldsmar) 13:30:00 UTC.
        assert_eq!(
            rfc3339(1_612_531_800_000_000_000),
            "2021-02-05T13:30:00.000000Z"
        );
        assert_eq!(
            rfc3339(951_782_400_123_456_789),
            "2000-02-29T00:00:00.123456789Z"
        );
        assert_eq!(rfc3339(-1_000), "1969-12-31T23:59:59.999999Z");
    }
}
