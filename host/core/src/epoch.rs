//! Epoch ids and boundaries.
//!
//! Production epochs last 4 hours and start at 00:00, 04:00, ..., 20:00 UTC. For development the
//! length is configurable in seconds. Boundaries are the multiples of the length counted from the
//! unix epoch (1970-01-01T00:00:00Z), so any length that divides a day (4 h, 1 h, 10 min, 60 s, ...)
//! also starts an epoch at 00:00 UTC every day.
//!
//! An epoch id is its start time formatted `YYYY-MM-DDTHH-MM-SS` (UTC); for hour-aligned epochs
//! that is the upstream `YYYY-MM-DDTHH-00-00` form, e.g. `2025-10-01T16-00-00`.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, TimeZone as _, Timelike as _, Utc};
use std::fmt;
use std::str::FromStr;

/// Length of a production epoch: 4 hours.
pub const DEFAULT_EPOCH_SECS: u32 = 4 * 3600;

const ID_FORMAT: &str = "%Y-%m-%dT%H-%M-%S";

/// Why an epoch id or schedule is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EpochError {
    /// The id is not `YYYY-MM-DDTHH-MM-SS`.
    #[error("epoch id {id:?} is not of the form YYYY-MM-DDTHH-MM-SS (e.g. 2025-10-01T16-00-00)")]
    BadId {
        /// The id as given.
        id: String,
    },
    /// The id is well-formed but does not start an epoch of this schedule.
    #[error("epoch id {id:?} is not on a boundary of {length_secs}-second epochs")]
    NotOnBoundary {
        /// The id as given.
        id: String,
        /// The schedule's epoch length.
        length_secs: u32,
    },
    /// Epoch length 0.
    #[error("epoch length must be at least 1 second")]
    ZeroLength,
    /// A time outside the range chrono can represent.
    #[error("time {0} is out of range")]
    OutOfRange(i64),
}

/// The id of an epoch: its UTC start time. Displays as `YYYY-MM-DDTHH-MM-SS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EpochId(DateTime<Utc>);

impl EpochId {
    /// Parses `YYYY-MM-DDTHH-MM-SS` (UTC).
    pub fn parse(id: &str) -> Result<Self, EpochError> {
        let bad = || EpochError::BadId { id: id.to_owned() };
        // chrono's parser accepts unpadded fields; require the exact fixed-width shape.
        if id.len() != 19 {
            return Err(bad());
        }
        let naive = NaiveDateTime::parse_from_str(id, ID_FORMAT).map_err(|_| bad())?;
        // chrono reads second 60 as a leap second of any minute: a second id of the instant
        // one second earlier (found by fuzzing).
        if naive.nanosecond() >= 1_000_000_000 {
            return Err(bad());
        }
        let parsed = Self(Utc.from_utc_datetime(&naive));
        if parsed.to_string() != id {
            return Err(bad());
        }
        Ok(parsed)
    }

    /// The epoch's start.
    pub fn start(&self) -> DateTime<Utc> {
        self.0
    }

    /// The epoch's start as unix seconds.
    pub fn start_unix(&self) -> i64 {
        self.0.timestamp()
    }
}

impl fmt::Display for EpochId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format(ID_FORMAT))
    }
}

impl FromStr for EpochId {
    type Err = EpochError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for EpochId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for EpochId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// One epoch: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Epoch {
    /// The epoch's id (its start).
    pub id: EpochId,
    /// Exclusive end; also the `submissionDeadline`.
    pub end: DateTime<Utc>,
}

impl Epoch {
    /// The epoch's start.
    pub fn start(&self) -> DateTime<Utc> {
        self.id.start()
    }

    /// True if `ts` (unix seconds) is inside `[start, end)`.
    pub fn contains(&self, ts: i64) -> bool {
        self.start().timestamp() <= ts && ts < self.end.timestamp()
    }
}

/// The epoch clock: epoch length in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EpochSchedule {
    length_secs: u32,
}

impl Default for EpochSchedule {
    fn default() -> Self {
        Self {
            length_secs: DEFAULT_EPOCH_SECS,
        }
    }
}

impl EpochSchedule {
    /// A schedule with epochs of `length_secs` seconds (production: [`DEFAULT_EPOCH_SECS`]).
    pub fn new(length_secs: u32) -> Result<Self, EpochError> {
        if length_secs == 0 {
            return Err(EpochError::ZeroLength);
        }
        Ok(Self { length_secs })
    }

    /// The epoch length in seconds.
    pub fn length_secs(&self) -> u32 {
        self.length_secs
    }

    fn epoch_at_start(&self, start: i64) -> Result<Epoch, EpochError> {
        let start_dt = Utc
            .timestamp_opt(start, 0)
            .single()
            .ok_or(EpochError::OutOfRange(start))?;
        let end = start + i64::from(self.length_secs);
        let end_dt = Utc
            .timestamp_opt(end, 0)
            .single()
            .ok_or(EpochError::OutOfRange(end))?;
        Ok(Epoch {
            id: EpochId(start_dt),
            end: end_dt,
        })
    }

    /// The epoch containing `ts` (unix seconds).
    pub fn containing(&self, ts: i64) -> Result<Epoch, EpochError> {
        let len = i64::from(self.length_secs);
        self.epoch_at_start(ts.div_euclid(len) * len)
    }

    /// The current epoch at time `now` (unix seconds).
    pub fn current(&self, now: i64) -> Result<Epoch, EpochError> {
        self.containing(now)
    }

    /// The epoch before the current one: what validators score at time `now`.
    pub fn previous(&self, now: i64) -> Result<Epoch, EpochError> {
        let cur = self.current(now)?;
        self.epoch_at_start(cur.id.start_unix() - i64::from(self.length_secs))
    }

    /// The epoch after the current one (assignments are generated ahead of it).
    pub fn next(&self, now: i64) -> Result<Epoch, EpochError> {
        let cur = self.current(now)?;
        self.epoch_at_start(cur.end.timestamp())
    }

    /// The epoch with this id; fails if the id is not on one of this schedule's boundaries.
    pub fn epoch(&self, id: &EpochId) -> Result<Epoch, EpochError> {
        let start = id.start_unix();
        if start.rem_euclid(i64::from(self.length_secs)) != 0 {
            return Err(EpochError::NotOnBoundary {
                id: id.to_string(),
                length_secs: self.length_secs,
            });
        }
        self.epoch_at_start(start)
    }

    /// Parses an id and checks it is on a boundary of this schedule.
    pub fn parse_id(&self, id: &str) -> Result<Epoch, EpochError> {
        self.epoch(&EpochId::parse(id)?)
    }
}

/// Formats a time as the protocol's ISO form with milliseconds, e.g. `2025-10-01T16:00:00.000Z`.
pub fn iso_millis(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp()
    }

    #[test]
    fn protocol_examples_previous_epoch() {
        let s = EpochSchedule::default();
        for (now, prev) in [
            ("2025-10-01T17:30:00Z", "2025-10-01T12-00-00"),
            ("2025-10-01T04:00:00Z", "2025-10-01T00-00-00"),
            ("2025-10-01T03:59:59Z", "2025-09-30T20-00-00"),
        ] {
            assert_eq!(s.previous(at(now)).unwrap().id.to_string(), prev, "{now}");
        }
    }

    #[test]
    fn current_next_and_deadline() {
        let s = EpochSchedule::default();
        let now = at("2025-10-01T17:30:00Z");
        let cur = s.current(now).unwrap();
        assert_eq!(cur.id.to_string(), "2025-10-01T16-00-00");
        assert_eq!(iso_millis(&cur.start()), "2025-10-01T16:00:00.000Z");
        assert_eq!(iso_millis(&cur.end), "2025-10-01T20:00:00.000Z");
        assert!(cur.contains(now));
        assert!(!cur.contains(cur.end.timestamp()));
        assert_eq!(s.next(now).unwrap().id.to_string(), "2025-10-01T20-00-00");
        let late = s.next(at("2025-10-01T21:00:00Z")).unwrap();
        assert_eq!(late.id.to_string(), "2025-10-02T00-00-00");
    }

    #[test]
    fn short_dev_epochs() {
        let s = EpochSchedule::new(90).unwrap();
        let cur = s.current(at("2025-10-01T00:02:00Z")).unwrap();
        assert_eq!(cur.id.to_string(), "2025-10-01T00-01-30");
        assert_eq!(cur.end.timestamp() - cur.id.start_unix(), 90);
        assert_eq!(
            s.previous(at("2025-10-01T00:02:00Z"))
                .unwrap()
                .id
                .to_string(),
            "2025-10-01T00-00-00"
        );
        assert!(matches!(
            EpochSchedule::default().parse_id("2025-10-01T00-01-30"),
            Err(EpochError::NotOnBoundary { .. })
        ));
        assert_eq!(EpochSchedule::new(0), Err(EpochError::ZeroLength));
    }

    #[test]
    fn parse_format_roundtrip_and_rejects() {
        let id = EpochId::parse("2025-10-01T16-00-00").unwrap();
        assert_eq!(id.to_string(), "2025-10-01T16-00-00");
        assert_eq!(id.start_unix(), at("2025-10-01T16:00:00Z"));
        for bad in [
            "2025-10-01T16:00:00",
            "2025-10-01 16-00-00",
            "2025-10-1T16-00-00",
            "2025-13-01T16-00-00",
            "2025-10-01T16-00-00Z",
            "2025-10-01T15-59-60",
            "8135-10-01T00-01-60",
            "",
        ] {
            assert!(
                matches!(EpochId::parse(bad), Err(EpochError::BadId { .. })),
                "{bad}"
            );
        }
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"2025-10-01T16-00-00\"");
        assert_eq!(serde_json::from_str::<EpochId>(&json).unwrap(), id);
    }
}
