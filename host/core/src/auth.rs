//! The freshness window of signed requests.
//!
//! A server rejects a signed request whose `timestamp` is older than [`MAX_AGE_SECS`] or more
//! than [`MAX_FUTURE_SECS`] ahead of its own clock (HTTP 400). Bounds are inclusive: a request
//! exactly 300 s old or exactly 60 s ahead is still accepted.

/// Oldest accepted age of a signed request, in seconds.
pub const MAX_AGE_SECS: i64 = 300;

/// Largest accepted clock skew into the future, in seconds.
pub const MAX_FUTURE_SECS: i64 = 60;

/// Why a request timestamp is outside the accepted window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    /// Older than [`MAX_AGE_SECS`] (replay or very slow client).
    #[error(
        "timestamp {ts} is {age_secs} s old; requests older than {MAX_AGE_SECS} s are rejected"
    )]
    TooOld {
        /// The request's timestamp.
        ts: i64,
        /// How old it is relative to the server clock.
        age_secs: i64,
    },
    /// More than [`MAX_FUTURE_SECS`] in the future (client clock ahead).
    #[error(
        "timestamp {ts} is {ahead_secs} s in the future; at most {MAX_FUTURE_SECS} s of clock skew is accepted"
    )]
    InFuture {
        /// The request's timestamp.
        ts: i64,
        /// How far ahead of the server clock it is.
        ahead_secs: i64,
    },
}

/// Checks `ts` (unix seconds) against the server clock `now` (unix seconds).
pub fn check_timestamp(ts: i64, now: i64) -> Result<(), TimestampError> {
    let age = now.saturating_sub(ts);
    if age > MAX_AGE_SECS {
        return Err(TimestampError::TooOld { ts, age_secs: age });
    }
    if -age > MAX_FUTURE_SECS {
        return Err(TimestampError::InFuture {
            ts,
            ahead_secs: -age,
        });
    }
    Ok(())
}

/// The current unix time in whole seconds.
pub fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_bounds() {
        let now = 1_000_000;
        assert_eq!(check_timestamp(now, now), Ok(()));
        assert_eq!(check_timestamp(now - 300, now), Ok(()));
        assert_eq!(
            check_timestamp(now - 301, now),
            Err(TimestampError::TooOld {
                ts: now - 301,
                age_secs: 301
            })
        );
        assert_eq!(check_timestamp(now + 60, now), Ok(()));
        assert_eq!(
            check_timestamp(now + 61, now),
            Err(TimestampError::InFuture {
                ts: now + 61,
                ahead_secs: 61
            })
        );
        assert_eq!(
            check_timestamp(i64::MIN, now),
            Err(TimestampError::TooOld {
                ts: i64::MIN,
                age_secs: i64::MAX
            })
        );
        assert!(check_timestamp(i64::MAX, now).is_err());
    }
}
