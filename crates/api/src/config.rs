//! The service's configuration: one typed struct, filled by the CLI from
//! flags and environment variables.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use showtree_db::connect::redacted_url;

/// The role the service logs in as (created by migration 0003): no
/// privileges of its own, no BYPASSRLS.
pub const APP_ROLE: &str = "authenticator";

/// Shortest JWT secret accepted: HS256 wants at least as many bytes as its
/// output.
pub const MIN_SECRET_LEN: usize = 32;

/// A secret string: never printed by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A fresh random secret (for `showtree demo` and tests).
    pub fn generate() -> Secret {
        use base64::Engine;
        let bytes: [u8; 32] = rand::random();
        Secret(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Secret, Self::Err> {
        Ok(Secret::new(s))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Login attempts allowed per minute before 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// Per email address (lowercased).
    pub per_email_per_minute: u32,
    /// Per client IP address (login and signup).
    pub per_address_per_minute: u32,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            per_email_per_minute: 10,
            per_address_per_minute: 60,
        }
    }
}

/// Everything [`crate::App::build`] needs.
#[derive(Clone)]
pub struct Config {
    /// Where to listen; port 0 picks a free one.
    pub bind: SocketAddr,
    /// The database, as the service's own role (`authenticator`).
    pub app_database_url: String,
    /// The HS256 key for access tokens (ours and Supabase's).
    pub jwt_secret: Secret,
    /// Whether anyone may sign up (`POST /v1/auth/signup`).
    pub public_signup: bool,
    /// Lifetime of the access tokens login and signup issue.
    pub access_token_ttl: Duration,
    /// Longest a request may take before it is answered with 503.
    pub request_timeout: Duration,
    /// Largest request body, in bytes.
    pub body_limit: usize,
    /// How long in-flight requests may run on after a shutdown signal.
    pub shutdown_grace: Duration,
    /// Longest a client may take from the first byte of a request head to
    /// its end; a connection that stalls mid-head (slowloris) is closed.
    pub header_read_timeout: Duration,
    /// Longest a connection may stay open without sending a request (after
    /// connecting, or after its last response) before it is closed.
    pub idle_timeout: Duration,
    /// Most connections the pool opens.
    pub pool_size: usize,
    /// Login rate limits.
    pub login_limits: LoginLimits,
    /// How often the background task folds roll-up deltas into totals
    /// when it has caught up; `None` runs no folder.
    pub rollup_fold_interval: Option<Duration>,
}

impl Config {
    /// A configuration with the defaults of DESIGN.md section 5.
    pub fn new(app_database_url: impl Into<String>, jwt_secret: Secret) -> Config {
        Config {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
            app_database_url: app_database_url.into(),
            jwt_secret,
            public_signup: true,
            access_token_ttl: Duration::from_secs(3600),
            request_timeout: Duration::from_secs(30),
            body_limit: 256 * 1024,
            shutdown_grace: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(75),
            pool_size: 16,
            login_limits: LoginLimits::default(),
            rollup_fold_interval: Some(Duration::from_millis(200)),
        }
    }
}

// By hand: the URL may carry a password, and the secret must not show.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("app_database_url", &redacted_url(&self.app_database_url))
            .field("jwt_secret", &self.jwt_secret)
            .field("public_signup", &self.public_signup)
            .field("access_token_ttl", &self.access_token_ttl)
            .field("request_timeout", &self.request_timeout)
            .field("body_limit", &self.body_limit)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("pool_size", &self.pool_size)
            .field("login_limits", &self.login_limits)
            .field("rollup_fold_interval", &self.rollup_fold_interval)
            .finish()
    }
}

/// `url` with its user replaced by `user` and any password dropped: the
/// service's connection string derived from the migrating one (trust or
/// peer authentication in development; production sets
/// `SHOWTREE_APP_DATABASE_URL` instead).
pub use showtree_db::connect::url_with_user;

/// Parses a duration as the command line and environment give it: a
/// whole number with a unit, `ms`, `s` or `m` (`10s`, `200ms`), or bare
/// seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("expected a duration such as 10s or 200ms, got {text:?}"))?;
    match unit.trim() {
        "ms" => Ok(Duration::from_millis(n)),
        "" | "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n.saturating_mul(60))),
        other => Err(format!("unknown unit {other:?} (ms, s or m)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_or_without_a_unit() {
        assert_eq!(parse_duration("200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("75"), Ok(Duration::from_secs(75)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("10h").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn debug_output_hides_secrets() {
        let config = Config::new(
            "postgres://authenticator:hunter2@h/db",
            Secret::new("very-secret-value-of-sufficient-length"),
        );
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("very-secret"), "{shown}");
    }
}
