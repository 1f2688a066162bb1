//! showtree benchmarks: data generators and workload drivers. Every
//! benchmark is a command (`showtree bench ...`) that measures a design
//! against its baseline in the same run and writes its figures, with the
//! command, to docs/BENCHMARKS.md (DESIGN.md section 6); none is a timed test.

pub mod access;
pub mod api;
pub mod backend_cpu;
pub mod generate;
pub mod hierarchy;
pub mod import;
pub mod legacy;
pub mod pgbench;
pub mod report;
pub mod rollup;
pub mod run;
pub mod targets;

pub use access::AccessArgs;
pub use api::ApiArgs;
pub use generate::GenerateArgs;
pub use hierarchy::HierarchyArgs;
pub use import::ImportBenchArgs;
pub use legacy::LegacyArgs;
pub use rollup::RollupArgs;
pub use run::RunArgs;
pub use targets::TargetsArgs;

/// The `showtree bench` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// Stored ancestry against recursive CTEs on a generated tree: ancestors,
    /// children, subtree pages, and the cost of moving a subtree.
    Hierarchy(HierarchyArgs),
    /// `showtree audit` on a generated schema (1,000 tables, 3,000 foreign
    /// keys): wall time and peak memory.
    Audit(showtree_audit::bench::AuditBenchArgs),
    /// Row Level Security against plain SQL (pgbench, 16 clients) for users
    /// granted at the root, at a production and at scattered workspaces,
    /// and the time to compute a caller's access sets.
    Access(AccessArgs),
    /// The HTTP service (oha, and an in-process driver for POST) against
    /// the same SQL through pgbench, at 64 and 1,024 connections, then
    /// 10,000 keep-alive connections held at once.
    Api(ApiArgs),
    /// A deterministic data set of any scale (1 = 1,000 organizations,
    /// 100,000 projects, about 10 million domain rows), loaded with binary
    /// COPY and checked for integrity.
    Generate(GenerateArgs),
    /// Roll-ups: the organization root, a production and a workspace against
    /// the brute-force aggregate, and task / invoice-line insert throughput at
    /// 64 clients in one organization without and with the mechanism.
    Rollup(RollupArgs),
    /// A realistic mixed workload (navigation, subtree task lists,
    /// roll-ups, search, task and invoice writes) through the HTTP API on a
    /// generated database, per operation against the same statements
    /// through pgbench, with the index hit ratio.
    Run(RunArgs),
    /// showtree's layout against the flat "current state" layout of
    /// STRATEGY.md on the same generated data: table and index size, the
    /// typical reads, single-row and bulk writes.
    LegacyCompare(LegacyArgs),
    /// The strategy's targets and the goals, met or not, from the
    /// figures the other commands recorded in docs/BENCHMARKS.md.
    Targets(TargetsArgs),
    /// `showtree import` on a flat legacy database of `bench generate`'s
    /// scale: backfill throughput, and the cost dual-write adds to legacy
    /// writes against the same writes without it.
    Import(ImportBenchArgs),
}

impl BenchCommand {
    /// The server the command names itself (`--url`), if it does.
    pub fn url(&self) -> Option<&str> {
        match self {
            BenchCommand::Generate(args) => args.url.as_deref(),
            BenchCommand::Run(args) => args.url.as_deref(),
            BenchCommand::LegacyCompare(args) => args.url.as_deref(),
            _ => None,
        }
    }
}

/// Runs one benchmark on the server behind `admin_url` (its `postgres`
/// maintenance database; a command's own `--url` wins) and prints its
/// table to stdout.
pub async fn run(cmd: BenchCommand, admin_url: &str) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Hierarchy(args) => {
            let report = hierarchy::run(&args, admin_url).await?;
            print!("{}", report.text_table());
            if let Some(path) = &args.markdown {
                println!("results written to {}", path.display());
            }
        }
        BenchCommand::Access(args) => {
            let report = access::run(&args, admin_url).await?;
            print!("{}", report.text_table());
            if let Some(path) = &args.markdown {
                println!("results written to {}", path.display());
            }
        }
        BenchCommand::Api(args) => {
            let report = api::run(&args, admin_url).await?;
            print!("{}", report.text_table());
            if let Some(path) = &args.markdown {
                println!("results written to {}", path.display());
            }
        }
        BenchCommand::Rollup(args) => {
            let report = rollup::run(&args, admin_url).await?;
            print!("{}", report.text_table());
            if let Some(path) = &args.markdown {
                println!("results written to {}", path.display());
            }
        }
        BenchCommand::Run(args) => {
            let report = run::run(&args, admin_url).await?;
            print!("{}", report.text_table());
            if let Some(path) = &args.markdown {
                println!("results written to {}", path.display());
            }
        }
        BenchCommand::Targets(args) => {
            let rows = targets::run(&args)?;
            for r in &rows {
                println!(
                    "{} | {} | {}",
                    r.verdict.word().trim_matches('*'),
                    r.target,
                    r.measured
                );
            }
            println!("results written to {}", args.markdown.display());
        }
        BenchCommand::LegacyCompare(args) => {
            let report = legacy::run(&args, admin_url).await?;
            print!("{}", report.text_table());
            if let Some(path) = &args.markdown {
                println!("results written to {}", path.display());
            }
        }
        BenchCommand::Import(args) => {
            let report = import::run(&args, admin_url).await?;
            print!("{}", report.text_table());
            if let Some(path) = &args.markdown {
                println!("results written to {}", path.display());
            }
        }
        BenchCommand::Generate(args) => {
            let url = args.url.as_deref().unwrap_or(admin_url);
            let summary = generate::generate(url, &args.options()).await?;
            print!("{}", summary.text());
            if let Some(path) = &args.markdown {
                println!("results written to {}", path.display());
            }
        }
        BenchCommand::Audit(args) => {
            let report = showtree_audit::bench::run(&args, admin_url).await?;
            print!("{}", report.text());
            if let Some(path) = &args.markdown {
                println!("results written to {}", path.display());
            }
        }
    }
    Ok(())
}
