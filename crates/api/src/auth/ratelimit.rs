//! Login rate limits, per email and per client address (GCRA, `governor`).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Weak};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::LoginLimits;
use crate::error::ApiError;

/// The two keyed limiters.
pub struct LoginLimiter {
    by_email: DefaultKeyedRateLimiter<String>,
    by_address: DefaultKeyedRateLimiter<IpAddr>,
}

impl std::fmt::Debug for LoginLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginLimiter")
            .field("emails", &self.by_email.len())
            .field("addresses", &self.by_address.len())
            .finish()
    }
}

fn quota(per_minute: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN))
}

fn refused(not_until: governor::NotUntil<<DefaultClock as Clock>::Instant>) -> ApiError {
    let wait = not_until.wait_time_from(DefaultClock::default().now());
    ApiError::TooManyRequests {
        retry_after: wait.as_secs().max(1),
    }
}

impl LoginLimiter {
    /// Limiters with the configured quotas.
    pub fn new(limits: LoginLimits) -> Arc<LoginLimiter> {
        let limiter = Arc::new(LoginLimiter {
            by_email: RateLimiter::keyed(quota(limits.per_email_per_minute)),
            by_address: RateLimiter::keyed(quota(limits.per_address_per_minute)),
        });
        // Forget idle keys now and then, so the maps do not grow with every
        // address ever seen; the task ends with the limiter.
        let weak: Weak<LoginLimiter> = Arc::downgrade(&limiter);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(limiter) = weak.upgrade() else { break };
                limiter.by_email.retain_recent();
                limiter.by_address.retain_recent();
                limiter.by_email.shrink_to_fit();
                limiter.by_address.shrink_to_fit();
            }
        });
        limiter
    }

    /// One attempt from `address`: 429 when it has used up its quota.
    pub fn check_address(&self, address: IpAddr) -> Result<(), ApiError> {
        self.by_address.check_key(&address).map_err(refused)
    }

    /// One attempt for `email` (case-insensitive): 429 when used up.
    pub fn check_email(&self, email: &str) -> Result<(), ApiError> {
        self.by_email
            .check_key(&email.trim().to_lowercase())
            .map_err(refused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_email_is_limited_whatever_its_case() {
        let limiter = LoginLimiter::new(LoginLimits {
            per_email_per_minute: 2,
            per_address_per_minute: 100,
        });
        assert!(limiter.check_email("A@example.com").is_ok());
        assert!(limiter.check_email("a@example.com").is_ok());
        let refused = limiter
            .check_email("a@EXAMPLE.com")
            .expect_err("third attempt");
        assert_eq!(refused.status(), axum::http::StatusCode::TOO_MANY_REQUESTS);
        assert!(limiter.check_email("b@example.com").is_ok());
    }
}
