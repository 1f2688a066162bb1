//! Money: integer minor units and an ISO 4217 currency code, never floats.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ParseError;

/// A three-letter ISO 4217 code, uppercase (`currency ~ '^[A-Z]{3}$'`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    /// Parses a code such as `USD`.
    pub fn parse(s: &str) -> Result<Currency, ParseError> {
        match s.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(|x| x.is_ascii_uppercase()) => {
                Ok(Currency([*a, *b, *c]))
            }
            _ => Err(ParseError::new(
                "currency",
                "three uppercase letters (ISO 4217)",
            )),
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII uppercase letters are ever stored (see `parse`).
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.as_str().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An amount in minor units (cents) of one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Amount in minor units.
    pub amount_minor: i64,
    /// Its currency.
    pub currency: Currency,
}

impl Money {
    /// An amount of `currency`.
    pub fn new(amount_minor: i64, currency: Currency) -> Money {
        Money {
            amount_minor,
            currency,
        }
    }

    /// The sum, or `None` when the currencies differ or it overflows:
    /// two currencies are never added together.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        if self.currency != other.currency {
            return None;
        }
        Some(Money::new(
            self.amount_minor.checked_add(other.amount_minor)?,
            self.currency,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currency_accepts_only_three_uppercase_letters() {
        assert!(Currency::parse("USD").is_ok());
        for bad in ["usd", "US", "USDT", "U$D", ""] {
            assert!(Currency::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn different_currencies_never_add() -> Result<(), ParseError> {
        let usd = Currency::parse("USD")?;
        let eur = Currency::parse("EUR")?;
        assert_eq!(
            Money::new(150, usd).checked_add(Money::new(50, usd)),
            Some(Money::new(200, usd))
        );
        assert_eq!(Money::new(1, usd).checked_add(Money::new(1, eur)), None);
        assert_eq!(
            Money::new(i64::MAX, usd).checked_add(Money::new(1, usd)),
            None
        );
        Ok(())
    }
}
