//! Money: integer minor units and an ISO 4217 currency code, never floats.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ParseError;

/// ISO 4217 codes in use and their minor units (digits after the decimal
/// point), sorted; `private.currency_minor_unit` in migration 0005 is the
/// same list (a test compares them).
pub const ISO_4217: &[(&str, u8)] = &[
    ("AED", 2),
    ("AFN", 2),
    ("ALL", 2),
    ("AMD", 2),
    ("AOA", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("AWG", 2),
    ("AZN", 2),
    ("BAM", 2),
    ("BBD", 2),
    ("BDT", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BIF", 0),
    ("BMD", 2),
    ("BND", 2),
    ("BOB", 2),
    ("BOV", 2),
    ("BRL", 2),
    ("BSD", 2),
    ("BTN", 2),
    ("BWP", 2),
    ("BYN", 2),
    ("BZD", 2),
    ("CAD", 2),
    ("CDF", 2),
    ("CHE", 2),
    ("CHF", 2),
    ("CHW", 2),
    ("CLF", 4),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("COU", 2),
    ("CRC", 2),
    ("CUP", 2),
    ("CVE", 2),
    ("CZK", 2),
    ("DJF", 0),
    ("DKK", 2),
    ("DOP", 2),
    ("DZD", 2),
    ("EGP", 2),
    ("ERN", 2),
    ("ETB", 2),
    ("EUR", 2),
    ("FJD", 2),
    ("FKP", 2),
    ("GBP", 2),
    ("GEL", 2),
    ("GHS", 2),
    ("GIP", 2),
    ("GMD", 2),
    ("GNF", 0),
    ("GTQ", 2),
    ("GYD", 2),
    ("HKD", 2),
    ("HNL", 2),
    ("HTG", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("IQD", 3),
    ("IRR", 2),
    ("ISK", 0),
    ("JMD", 2),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KGS", 2),
    ("KHR", 2),
    ("KMF", 0),
    ("KPW", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("KYD", 2),
    ("KZT", 2),
    ("LAK", 2),
    ("LBP", 2),
    ("LKR", 2),
    ("LRD", 2),
    ("LSL", 2),
    ("LYD", 3),
    ("MAD", 2),
    ("MDL", 2),
    ("MGA", 2),
    ("MKD", 2),
    ("MMK", 2),
    ("MNT", 2),
    ("MOP", 2),
    ("MRU", 2),
    ("MUR", 2),
    ("MVR", 2),
    ("MWK", 2),
    ("MXN", 2),
    ("MXV", 2),
    ("MYR", 2),
    ("MZN", 2),
    ("NAD", 2),
    ("NGN", 2),
    ("NIO", 2),
    ("NOK", 2),
    ("NPR", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PAB", 2),
    ("PEN", 2),
    ("PGK", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("RUB", 2),
    ("RWF", 0),
    ("SAR", 2),
    ("SBD", 2),
    ("SCR", 2),
    ("SDG", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("SHP", 2),
    ("SLE", 2),
    ("SOS", 2),
    ("SRD", 2),
    ("SSP", 2),
    ("STN", 2),
    ("SVC", 2),
    ("SYP", 2),
    ("SZL", 2),
    ("THB", 2),
    ("TJS", 2),
    ("TMT", 2),
    ("TND", 3),
    ("TOP", 2),
    ("TRY", 2),
    ("TTD", 2),
    ("TWD", 2),
    ("TZS", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("USN", 2),
    ("UYI", 0),
    ("UYU", 2),
    ("UYW", 4),
    ("UZS", 2),
    ("VED", 2),
    ("VES", 2),
    ("VND", 0),
    ("VUV", 0),
    ("WST", 2),
    ("XAF", 0),
    ("XCD", 2),
    ("XCG", 2),
    ("XOF", 0),
    ("XPF", 0),
    ("YER", 2),
    ("ZAR", 2),
    ("ZMW", 2),
    ("ZWG", 2),
];

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

    /// Parses a code in use (see [`ISO_4217`]), such as `USD`.
    pub fn parse_known(s: &str) -> Result<Currency, ParseError> {
        let c = Currency::parse(s)?;
        if c.minor_unit().is_none() {
            return Err(ParseError::new("currency", "not an ISO 4217 code in use"));
        }
        Ok(c)
    }

    /// Digits after the decimal point of a code in use (2 for USD, 0 for
    /// JPY, 3 for KWD); `None` for codes not in use.
    pub fn minor_unit(&self) -> Option<u8> {
        ISO_4217
            .binary_search_by(|(code, _)| code.as_bytes().cmp(&self.0[..]))
            .ok()
            .map(|i| ISO_4217[i].1)
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
    fn only_codes_in_use_are_known_with_their_minor_units() -> Result<(), ParseError> {
        assert_eq!(Currency::parse_known("USD")?.minor_unit(), Some(2));
        assert_eq!(Currency::parse_known("JPY")?.minor_unit(), Some(0));
        assert_eq!(Currency::parse_known("KWD")?.minor_unit(), Some(3));
        assert!(Currency::parse_known("XYZ").is_err());
        assert!(ISO_4217.windows(2).all(|w| w[0].0 < w[1].0), "sorted");
        Ok(())
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
