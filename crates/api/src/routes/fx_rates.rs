//! `/v1/orgs/{org_id}/fx-rates` and `/v1/fx-rates/{id}`: an organization's
//! dated exchange rates to its base currency, which roll-ups use to convert
//! (`GET /v1/nodes/{id}/rollup?convert=true`: the rate of the invoice's day,
//! the latest on or before it). Every member reads them; the finance
//! capability writes them.

// utoipa's generated code names types by paths that are also in scope here.
#![allow(unused_qualifications)]

use serde::{Deserialize, Serialize};
use showtree_core::Capability;
use showtree_core::money::Currency;
use showtree_db::domain::tables;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::collection::{Body, Collection, RowPage, Universal};
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::Day;

/// Exchange rates: org-level reference data.
pub const FX_RATES: Collection = Collection {
    table: &tables::FX_RATES,
    read: Capability::Read,
    write: Capability::Finance,
    noun: "exchange rate",
    path: "/v1/fx-rates",
};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_fx_rates, create_fx_rate))
        .routes(routes!(get_fx_rate, update_fx_rate, delete_fx_rate))
        .routes(routes!(restore_fx_rate))
}

/// How many units of the organization's base currency one unit of
/// `currency` buys, from `rate_date` until the next rate of that currency.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FxRate {
    /// Its id.
    pub id: Uuid,
    /// Its organization.
    pub org_id: Uuid,
    /// The organization's root node (reference data belongs to it).
    pub node_id: Uuid,
    /// ISO 4217 code of the currency converted from.
    pub currency: String,
    /// The first day the rate applies.
    pub rate_date: Day,
    /// Base-currency units per unit of `currency`, a decimal string with
    /// every digit kept (up to 12 decimals).
    pub rate: String,
    /// The universal columns.
    #[serde(flatten)]
    pub row: Universal,
}

/// What `POST /v1/orgs/{org_id}/fx-rates` takes.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFxRate {
    /// ISO 4217 code of the currency converted from.
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: String,
    /// The first day the rate applies (one live rate per currency and day).
    pub rate_date: Day,
    /// Base-currency units per unit of `currency`: a positive decimal
    /// string, at most 12 digits before the point and 12 after.
    #[schema(pattern = "^[0-9]{1,12}(\\.[0-9]{1,12})?$")]
    pub rate: String,
    /// Free-form attributes (an object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

impl Body for NewFxRate {
    fn validate(&self) -> Result<(), ApiError> {
        Currency::parse_known(&self.currency)
            .map_err(|e| ApiError::invalid_field("currency", e.message))?;
        check_rate(&self.rate)
    }
}

/// What `PATCH /v1/fx-rates/{id}` takes; absent fields stay. A rate's
/// currency and day are what it is: to change them, delete it and create
/// another.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FxRateChanges {
    /// Base-currency units per unit of `currency` (a positive decimal
    /// string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9]{1,12}(\\.[0-9]{1,12})?$")]
    pub rate: Option<String>,
    /// Replaces the metadata object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

impl Body for FxRateChanges {
    fn validate(&self) -> Result<(), ApiError> {
        self.rate.as_deref().map_or(Ok(()), check_rate)
    }
}

/// A positive decimal that `numeric(24, 12)` holds exactly.
fn check_rate(rate: &str) -> Result<(), ApiError> {
    let (whole, fraction) = rate.split_once('.').unwrap_or((rate, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let well_formed = !whole.is_empty()
        && whole.len() <= 12
        && digits(whole)
        && fraction.len() <= 12
        && digits(fraction)
        && rate.contains('.') != fraction.is_empty();
    if !well_formed {
        return Err(ApiError::invalid_field(
            "rate",
            "a decimal like 1.0825: up to 12 digits before the point and 12 after",
        ));
    }
    if whole.bytes().chain(fraction.bytes()).all(|b| b == b'0') {
        return Err(ApiError::invalid_field("rate", "must be positive"));
    }
    Ok(())
}

crate::org_list_routes!(
    collection = FX_RATES,
    tag = "reference data",
    view = FxRate,
    new = NewFxRate,
    path = "/v1/orgs/{org_id}/fx-rates",
    list = list_fx_rates,
    create = create_fx_rate
);
crate::row_routes!(
    collection = FX_RATES,
    tag = "reference data",
    view = FxRate,
    patch = FxRateChanges,
    one = "/v1/fx-rates/{id}",
    restore = "/v1/fx-rates/{id}/restore",
    get = get_fx_rate,
    update = update_fx_rate,
    delete = delete_fx_rate,
    restore_fn = restore_fx_rate
);

#[cfg(test)]
mod tests {
    use super::check_rate;

    #[test]
    fn rates_are_positive_decimals_numeric_24_12_holds() {
        for ok in ["1", "0.92", "1.0825", "000000000001.000000000001", "150.5"] {
            assert!(check_rate(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "0",
            "0.000",
            "-1",
            "1.",
            ".5",
            "1e3",
            "1,5",
            " 1",
            "abc",
            "1234567890123",
            "1.1234567890123",
        ] {
            assert!(check_rate(bad).is_err(), "{bad:?}");
        }
    }
}
