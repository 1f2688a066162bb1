//! showtree benchmarks: data generators and workload drivers. Every
//! benchmark is a command (`showtree bench ...`) that measures a design
//! against its baseline in the same run and writes its figures, with the
//! command, to docs/BENCHMARKS.md (DESIGN.md section 6); none is a timed test.

pub mod access;
pub mod hierarchy;
pub mod pgbench;
pub mod report;
pub mod rollup;

pub use access::AccessArgs;
pub use hierarchy::HierarchyArgs;
pub use rollup::RollupArgs;

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
    /// Roll-ups: the organization root, a production and a workspace against
    /// the brute-force aggregate, and task / invoice-line insert throughput at
    /// 64 clients in one organization without and with the mechanism.
    Rollup(RollupArgs),
}

/// Runs one benchmark on the server behind `admin_url` (its `postgres`
/// maintenance database) and prints its table to stdout.
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
        BenchCommand::Rollup(args) => {
            let report = rollup::run(&args, admin_url).await?;
            print!("{}", report.text_table());
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
