//! Sets of Modbus addresses (`"0-99"`, `"5"`, `7`), merged and sorted, answering
//! whether a whole request span lies inside.

use std::fmt;

/// A sorted set of disjoint, non-adjacent inclusive address intervals.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RangeSet {
    spans: Vec<(u16, u16)>,
}

/// Why a range text is not an address range.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("address range {0:?} is not N or N-M")]
    Syntax(String),
    #[error("address {0} is outside 0-65535")]
    OutOfBounds(i64),
    #[error("address range {0}-{1} runs backwards")]
    Backwards(u16, u16),
}

fn addr(v: i64) -> Result<u16, RangeError> {
    u16::try_from(v).map_err(|_| RangeError::OutOfBounds(v))
}

fn number(s: &str, whole: &str) -> Result<u16, RangeError> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RangeError::Syntax(whole.to_string()));
    }
    let v: i64 = s.parse().map_err(|_| RangeError::OutOfBounds(i64::MAX))?;
    addr(v)
}

/// Parses `"N"` or `"N-M"` into an inclusive interval.
pub fn parse_span(text: &str) -> Result<(u16, u16), RangeError> {
    let (lo, hi) = match text.split_once('-') {
        Some((a, b)) => (number(a, text)?, number(b, text)?),
        None => {
            let n = number(text, text)?;
            (n, n)
        }
    };
    if hi < lo {
        return Err(RangeError::Backwards(lo, hi));
    }
    Ok((lo, hi))
}

/// Parses an integer address into a one-address interval.
pub fn int_span(v: i64) -> Result<(u16, u16), RangeError> {
    let a = addr(v)?;
    Ok((a, a))
}

impl RangeSet {
    /// The empty set.
    pub fn new() -> RangeSet {
        RangeSet::default()
    }

    /// A set of the given inclusive intervals (in any order, overlapping or not).
    pub fn from_spans(spans: impl IntoIterator<Item = (u16, u16)>) -> RangeSet {
        let mut v: Vec<(u16, u16)> = spans
            .into_iter()
            .map(|(a, b)| (a.min(b), a.max(b)))
            .collect();
        v.sort_unstable();
        let mut out: Vec<(u16, u16)> = Vec::with_capacity(v.len());
        for (lo, hi) in v {
            match out.last_mut() {
                Some(last) if u32::from(lo) <= u32::from(last.1) + 1 => {
                    last.1 = last.1.max(hi);
                }
                _ => out.push((lo, hi)),
            }
        }
        RangeSet { spans: out }
    }

    /// Parses a comma-separated list such as `"5"`, `"0-19"`, `"5,7-9"`.
    pub fn parse(text: &str) -> Result<RangeSet, RangeError> {
        let mut spans = Vec::new();
        for part in text.split(',') {
            spans.push(parse_span(part.trim())?);
        }
        Ok(RangeSet::from_spans(spans))
    }

    /// True when no address is in the set.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The merged intervals.
    pub fn spans(&self) -> &[(u16, u16)] {
        &self.spans
    }

    /// True when `a` is in the set.
    pub fn contains(&self, a: u16) -> bool {
        self.covers(a, 1)
    }

    /// True when every address of `start .. start + count` is in the set
    /// (`count == 0` or a span past 65535 is never covered).
    pub fn covers(&self, start: u16, count: u16) -> bool {
        if count == 0 {
            return false;
        }
        let last = u32::from(start) + u32::from(count) - 1;
        match u16::try_from(last) {
            Ok(last) => self.covers_incl(start, last),
            Err(_) => false,
        }
    }

    /// True when every address of `lo ..= hi` is in the set.
    pub fn covers_incl(&self, lo: u16, hi: u16) -> bool {
        if hi < lo {
            return false;
        }
        // The interval that could hold `lo`: the last one starting at or before it.
        let i = self.spans.partition_point(|&(a, _)| a <= lo);
        match i.checked_sub(1).and_then(|i| self.spans.get(i)) {
            Some(&(_, b)) => hi <= b,
            None => false,
        }
    }

    /// True when some address of `start .. start + count` is in the set.
    pub fn intersects(&self, start: u16, count: u16) -> bool {
        if count == 0 {
            return false;
        }
        let last = (u32::from(start) + u32::from(count) - 1).min(u32::from(u16::MAX));
        self.spans
            .iter()
            .any(|&(lo, hi)| u32::from(lo) <= last && u32::from(hi) >= u32::from(start))
    }

    /// The addresses of `start .. start + count` that are in the set.
    pub fn overlap(&self, start: u16, count: u16) -> RangeSet {
        if count == 0 {
            return RangeSet::new();
        }
        let last = (u32::from(start) + u32::from(count) - 1).min(u32::from(u16::MAX)) as u16;
        RangeSet::from_spans(self.spans.iter().filter_map(|&(lo, hi)| {
            let a = lo.max(start);
            let b = hi.min(last);
            (a <= b).then_some((a, b))
        }))
    }

    /// True when every address of `other` is in `self`.
    pub fn contains_set(&self, other: &RangeSet) -> bool {
        other.spans.iter().all(|&(lo, hi)| self.covers_incl(lo, hi))
    }
}

impl fmt::Display for RangeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, &(lo, hi)) in self.spans.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if lo == hi {
                write!(f, "{lo}")?;
            } else {
                write!(f, "{lo}-{hi}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_cover() {
        let s = RangeSet::parse("0-19, 30, 21-25,20").unwrap();
        assert_eq!(s.spans(), &[(0, 25), (30, 30)]);
        assert!(s.covers(0, 26));
        assert!(!s.covers(0, 27));
        assert!(s.covers(30, 1));
        assert!(!s.covers(29, 2));
        assert!(!s.covers(5, 0));
        assert!(s.intersects(25, 10));
        assert!(!s.intersects(26, 4));
        assert_eq!(s.overlap(20, 20).to_string(), "20-25,30");
        assert_eq!(s.to_string(), "0-25,30");
        assert!(RangeSet::parse("5-2").is_err());
        assert!(RangeSet::parse("70000").is_err());
        assert!(RangeSet::parse("a-3").is_err());
        assert!(RangeSet::parse("").is_err());
        assert!(RangeSet::parse("-").is_err());
        let all = RangeSet::parse("0-65535").unwrap();
        assert!(all.covers(65535, 1));
        assert!(!all.covers(65535, 2));
        assert!(all.contains_set(&all));
        assert!(s.contains_set(&RangeSet::parse("3-4,30").unwrap()));
        assert!(!s.contains_set(&RangeSet::parse("3-4,31").unwrap()));
    }

    proptest::proptest! {
        #[test]
        fn covers_matches_naive(spans in proptest::collection::vec((0u16..200, 0u16..20), 0..6), start in 0u16..230, count in 0u16..40) {
            let set = RangeSet::from_spans(spans.iter().map(|&(a, n)| (a, a + n)));
            let naive = count > 0 && (start..start + count).all(|x| spans.iter().any(|&(a, n)| a <= x && x <= a + n));
            proptest::prop_assert_eq!(set.covers(start, count), naive);
            let naive_any = (start..start + count).any(|x| spans.iter().any(|&(a, n)| a <= x && x <= a + n));
            proptest::prop_assert_eq!(set.intersects(start, count), naive_any);
        }

        #[test]
        fn parse_never_panics(s in ".{0,20}") {
            let _ = RangeSet::parse(&s);
        }
    }
}
