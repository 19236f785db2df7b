//! A token bucket per log, so one noisy log (or someone replaying its checkpoints) cannot take
//! the witness's disk from the others.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Tokens per key: `rate` a second, at most `burst` saved up.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// `rate` requests a second per key, in bursts of up to four seconds' worth (at least one).
    pub fn new(rate: u32) -> RateLimiter {
        let rate = f64::from(rate.max(1));
        RateLimiter { rate, burst: (rate * 4.0).max(1.0), buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes a token for `key` at `now`; false when none is left.
    pub fn take(&self, key: &str, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (tokens, last) = buckets.entry(key.to_owned()).or_insert((self.burst, now));
        let elapsed = now.saturating_duration_since(*last).as_secs_f64();
        *tokens = (*tokens + elapsed * self.rate).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_then_the_rate() {
        let r = RateLimiter::new(2);
        let t = Instant::now();
        assert_eq!((0..10).filter(|_| r.take("a", t)).count(), 8);
        assert!(r.take("b", t), "another log has its own bucket");
        assert!(!r.take("a", t + Duration::from_millis(100)));
        assert!(r.take("a", t + Duration::from_millis(600)));
    }
}
