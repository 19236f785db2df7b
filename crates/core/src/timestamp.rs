//! Event time: UTC nanoseconds, written as RFC 3339 with exactly nine fraction digits so that
//! text order is time order (denkeeper sorted `.5Z` before `Z`; this cannot).

use std::fmt;
use std::str::FromStr;

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// A point in time, UTC, nanosecond precision, within years 1678..=2261 (i64 nanoseconds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// Why a text is not an event time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    #[error("{0:?} is not an RFC 3339 date-time such as 2026-11-22T22:45:12.123Z")]
    NotRfc3339(String),
    #[error("{0:?} is outside the years 1678 to 2261 that trail can store")]
    OutOfRange(String),
}

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Timestamp = Timestamp(0);

    pub fn from_unix_nanos(nanos: i64) -> Self {
        Timestamp(nanos)
    }

    pub fn unix_nanos(self) -> i64 {
        self.0
    }

    /// Builds a time from fractional Unix seconds (Harness writes `time.time()`), rounded to the
    /// microsecond a Python float can carry.
    pub fn from_unix_seconds_f64(seconds: f64) -> Option<Self> {
        if !seconds.is_finite() {
            return None;
        }
        let micros = (seconds * 1e6).round();
        if micros.abs() > (i64::MAX / 1000) as f64 {
            return None;
        }
        #[expect(clippy::cast_possible_truncation, reason = "range checked above")]
        Some(Timestamp(micros as i64 * 1000))
    }

    fn to_datetime(self) -> OffsetDateTime {
        // Every i64 nanosecond count is within time's supported range.
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0))
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

impl Timestamp {
    /// The RFC 3339 text, `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` (30 ASCII bytes, the year always
    /// four digits in 1678..=2261), written without the formatting machinery: every record's
    /// canonical bytes hold one.
    pub fn rfc3339(self) -> [u8; 30] {
        fn digits(out: &mut [u8], mut v: u32) {
            for b in out.iter_mut().rev() {
                // A digit: `v % 10` is below 10.
                *b = b'0' + (v % 10) as u8;
                v /= 10;
            }
        }
        let t = self.to_datetime();
        let mut out = *b"0000-00-00T00:00:00.000000000Z";
        digits(&mut out[0..4], t.year().unsigned_abs());
        digits(&mut out[5..7], u32::from(u8::from(t.month())));
        digits(&mut out[8..10], u32::from(t.day()));
        digits(&mut out[11..13], u32::from(t.hour()));
        digits(&mut out[14..16], u32::from(t.minute()));
        digits(&mut out[17..19], u32::from(t.second()));
        digits(&mut out[20..29], t.nanosecond());
        out
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.rfc3339();
        // ASCII digits and separators only.
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    /// Parses RFC 3339 with any offset (`Z`, `+02:00`, lowercase `t`/`z`) and any number of
    /// fraction digits, and normalises to UTC.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = OffsetDateTime::parse(s, &Rfc3339)
            .map_err(|_| TimestampError::NotRfc3339(s.to_owned()))?
            .to_offset(UtcOffset::UTC);
        let nanos = t.unix_timestamp_nanos();
        i64::try_from(nanos).map(Timestamp).map_err(|_| TimestampError::OutOfRange(s.to_owned()))
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: &str) {
        let got =
            input.parse::<Timestamp>().map(|t| t.to_string()).unwrap_or_else(|e| e.to_string());
        assert_eq!(got, expect, "input {input:?}");
    }

    #[test]
    fn the_fixed_writer_matches_the_date_library_across_the_range() {
        let mut nanos = vec![i64::MIN, i64::MAX, 0, -1, 1, 951_782_400_000_000_000];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            nanos.push(x as i64);
        }
        for n in nanos {
            let t = Timestamp(n).to_datetime();
            let expect = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
                t.nanosecond()
            );
            assert_eq!(Timestamp(n).to_string(), expect, "{n}");
        }
    }

    #[test]
    fn utc_with_nine_digits() {
        check("2026-11-22T22:45:12.123Z", "2026-11-22T22:45:12.123000000Z");
        check("2026-11-22T22:45:12Z", "2026-11-22T22:45:12.000000000Z");
    }

    #[test]
    fn offsets_are_normalised() {
        check("2026-11-22T23:45:12.5+01:00", "2026-11-22T22:45:12.500000000Z");
        check("2026-11-22t22:45:12.123456789z", "2026-11-22T22:45:12.123456789Z");
    }

    #[test]
    fn garbage_is_named() {
        check(
            "yesterday",
            "\"yesterday\" is not an RFC 3339 date-time such as 2026-11-22T22:45:12.123Z",
        );
        check(
            "2026-11-22 22:45:12",
            "\"2026-11-22 22:45:12\" is not an RFC 3339 date-time such as 2026-11-22T22:45:12.123Z",
        );
    }

    #[test]
    fn text_order_is_time_order() {
        let a: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let b: Timestamp = "2026-01-01T00:00:00.5Z".parse().unwrap();
        assert!(a < b);
        assert!(a.to_string() < b.to_string());
    }

    #[test]
    fn float_epoch_seconds() {
        let t = Timestamp::from_unix_seconds_f64(1_700_000_000.25).unwrap();
        assert_eq!(t.to_string(), "2023-11-14T22:13:20.250000000Z");
    }
}
