//! The benchmarks at toy sizes against a real PostgreSQL: they run, their
//! answers agree, they write their docs. Never a timing assertion.

mod access;
mod api;
mod generate;
mod hierarchy;
mod import;
mod legacy;
mod rollup;
mod run;
