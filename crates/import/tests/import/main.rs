//! `showtree import` against real PostgreSQL databases: each test makes
//! its own legacy database (the flat layout, generated rows).

mod asynchronous;
mod audit;
mod check;
mod concurrency;
mod crossdb;
mod indexes;
mod path;
mod rollback;
mod rollups;
mod support;
