//! Operator tasks without HTTP (DESIGN.md section 5): `showtree user add`
//! and `showtree grant`. They run as the database owner, so the access
//! layer's caller rules (grant at most your own role) do not apply: the
//! operator is trusted, and every grant is still written to the audit log.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use showtree_core::Role;
use showtree_db::grants::{self, Grantee};
use tokio_postgres::Client;
use uuid::Uuid;

/// `showtree user ...`
#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Create a user; with --password-stdin the first line of standard
    /// input is their password (never an argument: it would show in `ps`).
    Add {
        /// Their email (unique, any case).
        email: String,
        /// Their display name.
        #[arg(long, default_value = "")]
        name: String,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// `showtree grant ...`
#[derive(Debug, Args)]
pub struct GrantArgs {
    /// The user's email.
    pub email: String,
    /// The node's id.
    pub node: Uuid,
    /// viewer, finance, editor, manager, admin or owner (not with --revoke).
    pub role: Option<String>,
    /// Revoke the user's grant at the node instead.
    #[arg(long)]
    pub revoke: bool,
}

/// Runs `showtree user`.
pub async fn user(client: &mut Client, action: UserAction) -> anyhow::Result<ExitCode> {
    let UserAction::Add {
        email,
        name,
        password_stdin,
    } = action;
    let hash = if password_stdin {
        let mut input = String::new();
        std::io::stdin()
            .read_to_string(&mut input)
            .context("reading the password from standard input")?;
        let password = input.lines().next().unwrap_or("").to_owned();
        if password.chars().count() < 8 {
            bail!("the password must have at least 8 characters");
        }
        let hash = tokio::task::spawn_blocking(move || {
            showtree_api::auth::password::hash_blocking(password.as_bytes())
        })
        .await??;
        Some(hash)
    } else {
        None
    };
    let tx = client.transaction().await?;
    let id = match showtree_db::auth::create_user(&tx, &email, &name, hash.as_deref()).await {
        Ok(id) => id,
        Err(e) if e.rule() == Some("users_email_key") => bail!("a user with email {email} exists"),
        Err(e) if e.rule() == Some("users_email_check") => bail!("{email} is not an email address"),
        Err(e) => return Err(e.into()),
    };
    tx.commit().await?;
    println!("{id}");
    Ok(ExitCode::SUCCESS)
}

/// Runs `showtree grant`.
pub async fn grant(client: &mut Client, args: GrantArgs) -> anyhow::Result<ExitCode> {
    let tx = client.transaction().await?;
    let Some(user) = showtree_db::auth::user_by_email(&tx, &args.email).await? else {
        bail!("no user with email {}", args.email);
    };
    let node = match showtree_db::nodes::find(&tx, args.node).await {
        Ok(node) => node,
        Err(showtree_db::DbError::NotFound) => bail!("no node {}", args.node),
        Err(e) => return Err(e.into()),
    };
    if args.revoke {
        if args.role.is_some() {
            bail!("--revoke takes no role");
        }
        let live = grants::list(&tx, node.org_id, node.id).await?;
        let Some(g) = live.iter().find(|g| g.user_id == user) else {
            bail!("{} has no grant at {}", args.email, node.name);
        };
        match grants::revoke(&tx, g.id).await {
            Ok(_) => {}
            Err(e) if e.rule() == Some("grants_last_owner") => {
                bail!("an organization keeps at least one owner")
            }
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        println!("revoked {}'s grant at {}", args.email, node.name);
        return Ok(ExitCode::SUCCESS);
    }
    let Some(role) = args.role.as_deref() else {
        bail!("name a role: viewer, finance, editor, manager, admin or owner");
    };
    let role: Role = grants::parse_role(role).map_err(|_| {
        anyhow::anyhow!("{role} is not a role: viewer, finance, editor, manager, admin or owner")
    })?;
    let g = grants::grant(&tx, node.org_id, node.id, &Grantee::User(user), role).await?;
    tx.commit().await?;
    println!(
        "granted {} {role:?} at {} ({})",
        args.email, node.name, g.id
    );
    Ok(ExitCode::SUCCESS)
}
