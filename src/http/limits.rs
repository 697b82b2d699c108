//! Rate limits and connection caps: answers per player, guest logins per client address,
//! open event streams per user. Keyed limiters are pruned periodically so they stay small.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::error::AppError;
use crate::config::Config;

pub struct Limits {
    answers: DefaultKeyedRateLimiter<String>,
    guests: DefaultKeyedRateLimiter<IpAddr>,
    streams: Arc<Mutex<HashMap<String, usize>>>,
    max_streams: usize,
}

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN)
}

fn limited(wait: Duration, what: &str) -> AppError {
    AppError::TooManyRequests {
        detail: format!("too many {what}; retry in {} ms", wait.as_millis()),
        retry_after_secs: wait.as_secs_f64().ceil() as u64,
    }
}

impl Limits {
    pub fn new(config: &Config) -> Self {
        let answers =
            Quota::per_second(nz(config.answers_per_second)).allow_burst(nz(config.answers_burst));
        let guests = Quota::per_minute(nz(config.guest_logins_per_minute));
        Self {
            answers: RateLimiter::keyed(answers),
            guests: RateLimiter::keyed(guests),
            streams: Arc::new(Mutex::new(HashMap::new())),
            max_streams: config.streams_per_user.max(1),
        }
    }

    pub fn check_answer(&self, user: &str) -> Result<(), AppError> {
        self.answers
            .check_key(&user.to_owned())
            .map_err(|not_until| {
                metrics::counter!("quizcast_rate_limited_total", "limit" => "answers").increment(1);
                limited(
                    not_until.wait_time_from(DefaultClock::default().now()),
                    "answers",
                )
            })
    }

    pub fn check_guest(&self, ip: IpAddr) -> Result<(), AppError> {
        self.guests.check_key(&ip).map_err(|not_until| {
            metrics::counter!("quizcast_rate_limited_total", "limit" => "guest_logins")
                .increment(1);
            limited(
                not_until.wait_time_from(DefaultClock::default().now()),
                "guest logins",
            )
        })
    }

    /// Holds one of the user's stream slots until the permit is dropped.
    pub fn open_stream(&self, user: &str) -> Result<StreamPermit, AppError> {
        let mut streams = self.streams.lock().unwrap_or_else(|e| e.into_inner());
        let n = streams.entry(user.to_owned()).or_insert(0);
        if *n >= self.max_streams {
            metrics::counter!("quizcast_rate_limited_total", "limit" => "streams").increment(1);
            return Err(AppError::TooManyRequests {
                detail: format!("at most {} open event streams per user", self.max_streams),
                retry_after_secs: 5,
            });
        }
        *n += 1;
        Ok(StreamPermit {
            streams: self.streams.clone(),
            user: user.to_owned(),
        })
    }

    /// Forgets idle keys; run periodically.
    pub fn prune(&self) {
        self.answers.retain_recent();
        self.guests.retain_recent();
        self.answers.shrink_to_fit();
        self.guests.shrink_to_fit();
    }
}

pub struct StreamPermit {
    streams: Arc<Mutex<HashMap<String, usize>>>,
    user: String,
}

impl Drop for StreamPermit {
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
