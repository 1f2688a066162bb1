//! What the feature modules run their SQL through.
//!
//! `Sql` is implemented by the service's pooled connections, which prepare
//! each distinct statement once per connection and keep it
//! (`prepare_cached`): a request then costs one round trip per statement
//! and no parse, where tokio-postgres given text would prepare (one round
//! trip), then execute (another), every time. Plain clients and
//! transactions (tests, operator commands, benchmarks) run the text as
//! tokio-postgres does.

use std::future::Future;

use deadpool_postgres::ClientWrapper;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Error, Row, Transaction};

/// A connection a pooled transaction runs on (what `Db::run_as` lends).
pub type Conn = ClientWrapper;

/// Parameters of a statement.
pub type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// A connection or transaction that runs SQL text with bound parameters.
pub trait Sql: Sync {
    /// Every row the statement returns.
    fn query(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> impl Future<Output = Result<Vec<Row>, Error>> + Send;
    /// Exactly one row (an error otherwise).
    fn query_one(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> impl Future<Output = Result<Row, Error>> + Send;
    /// At most one row (an error if more).
    fn query_opt(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> impl Future<Output = Result<Option<Row>, Error>> + Send;
    /// The number of rows changed.
    fn execute(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> impl Future<Output = Result<u64, Error>> + Send;
    /// Statements without parameters, in the simple protocol.
    fn batch_execute(&self, sql: &str) -> impl Future<Output = Result<(), Error>> + Send;
}

impl Sql for ClientWrapper {
    async fn query(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, Error> {
        let statement = self.prepare_cached(sql).await?;
        Client::query(self, &statement, params).await
    }
    async fn query_one(&self, sql: &str, params: Params<'_>) -> Result<Row, Error> {
        let statement = self.prepare_cached(sql).await?;
        Client::query_one(self, &statement, params).await
    }
    async fn query_opt(&self, sql: &str, params: Params<'_>) -> Result<Option<Row>, Error> {
        let statement = self.prepare_cached(sql).await?;
        Client::query_opt(self, &statement, params).await
    }
    async fn execute(&self, sql: &str, params: Params<'_>) -> Result<u64, Error> {
        let statement = self.prepare_cached(sql).await?;
        Client::execute(self, &statement, params).await
    }
    async fn batch_execute(&self, sql: &str) -> Result<(), Error> {
        Client::batch_execute(self, sql).await
    }
}

impl Sql for Client {
    async fn query(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, Error> {
        Client::query(self, sql, params).await
    }
    async fn query_one(&self, sql: &str, params: Params<'_>) -> Result<Row, Error> {
        Client::query_one(self, sql, params).await
    }
    async fn query_opt(&self, sql: &str, params: Params<'_>) -> Result<Option<Row>, Error> {
        Client::query_opt(self, sql, params).await
    }
    async fn execute(&self, sql: &str, params: Params<'_>) -> Result<u64, Error> {
        Client::execute(self, sql, params).await
    }
    async fn batch_execute(&self, sql: &str) -> Result<(), Error> {
        Client::batch_execute(self, sql).await
    }
}

impl Sql for Transaction<'_> {
    async fn query(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, Error> {
        Transaction::query(self, sql, params).await
    }
    async fn query_one(&self, sql: &str, params: Params<'_>) -> Result<Row, Error> {
        Transaction::query_one(self, sql, params).await
    }
    async fn query_opt(&self, sql: &str, params: Params<'_>) -> Result<Option<Row>, Error> {
        Transaction::query_opt(self, sql, params).await
    }
    async fn execute(&self, sql: &str, params: Params<'_>) -> Result<u64, Error> {
        Transaction::execute(self, sql, params).await
    }
    async fn batch_execute(&self, sql: &str) -> Result<(), Error> {
        Transaction::batch_execute(self, sql).await
    }
}
