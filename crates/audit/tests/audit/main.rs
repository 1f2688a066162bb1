//! Integration tests of `showtree audit` against a real PostgreSQL: one
//! database per test, fixtures loaded with `batch_execute`.

mod fixes;
mod interface;
mod own_schema;
mod rules;
mod support;
