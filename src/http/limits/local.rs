//! In-process limiters (governor) and stream counts: the limits of a single node, and the
//! fallback of a node whose Redis does not answer.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::{Kind, Rate};

pub(super) struct Local {
    answers: DefaultKeyedRateLimiter<String>,
    guests: DefaultKeyedRateLimiter<String>,
    lookups: DefaultKeyedRateLimiter<String>,
    streams: Arc<Mutex<HashMap<String, usize>>>,
}

fn quota(rate: Rate) -> Quota {
    let burst = NonZeroU32::new(rate.burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(rate.interval.max(Duration::from_micros(1)))
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

impl Local {
    pub(super) fn new(answers: Rate, guests: Rate, lookups: Rate) -> Self {
        Self {
            answers: RateLimiter::keyed(quota(answers)),
            guests: RateLimiter::keyed(quota(guests)),
            lookups: RateLimiter::keyed(quota(lookups)),
            streams: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// `Err(wait)` when `key` is over its rate.
    pub(super) fn check(&self, kind: Kind, key: &str) -> Result<(), Duration> {
        let limiter = match kind {
            Kind::Answers => &self.answers,
            Kind::GuestLogins => &self.guests,
            Kind::Lookups => &self.lookups,
        };
        limiter
            .check_key(&key.to_owned())
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Counts one more stream of `user` on this node; `enforce` refuses it at `max`.
    pub(super) fn open_stream(&self, user: &str, max: usize, enforce: bool) -> Option<LocalPermit> {
        let mut streams = self.streams.lock().unwrap_or_else(|e| e.into_inner());
        let n = streams.entry(user.to_owned()).or_insert(0);
        if enforce && *n >= max {
            if *n == 0 {
                streams.remove(user);
            }
            return None;
        }
        *n += 1;
        Some(LocalPermit {
            streams: self.streams.clone(),
            user: user.to_owned(),
        })
    }

    /// Forgets idle keys.
    pub(super) fn prune(&self) {
        for limiter in [&self.answers, &self.guests, &self.lookups] {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// One stream counted on this node until dropped.
pub(super) struct LocalPermit {
    streams: Arc<Mutex<HashMap<String, usize>>>,
    user: String,
}

impl Drop for LocalPermit {
    fn drop(&mut self) {
        let mut streams = self.streams.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = streams.get_mut(&self.user) {
            *n -= 1;
            if *n == 0 {
                streams.remove(&self.user);
            }
        }
    }
}
