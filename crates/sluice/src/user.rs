//! `sluice user`: console users (argon2id passwords, TOTP enrolment, roles, API tokens).
use anyhow::{Context, Result};
use sluice_console::auth::{self, Role};
use sluice_console::db;
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct UserArgs {
    #[command(subcommand)]
    pub command: UserCommand,
}

#[derive(clap::Subcommand)]
pub enum UserCommand {
    /// Creates a user; reads the password from standard input (not echoed on a terminal)
    /// and prints the authenticator enrolment link.
    Add {
        name: String,
        /// viewer (reads), analyst (also acknowledges and assigns alerts) or admin (also
        /// manages users).
        #[arg(long)]
        role: String,
        #[arg(long, default_value = "sluice.db")]
        db: PathBuf,
    },
    /// Creates an API token for a user (printed once; send as `Authorization: Bearer`).
    Token {
        name: String,
        #[arg(long, default_value = "sluice.db")]
        db: PathBuf,
    },
    /// Lists users.
    List {
        #[arg(long, default_value = "sluice.db")]
        db: PathBuf,
    },
    /// Clears a lockout after failed sign-ins.
    Unlock {
        name: String,
        #[arg(long, default_value = "sluice.db")]
        db: PathBuf,
    },
    /// Gives a user a new TOTP secret (enrolled again at next sign-in).
    ResetMfa {
        name: String,
        #[arg(long, default_value = "sluice.db")]
        db: PathBuf,
    },
    /// Sets a new password (read from standard input).
    Passwd {
        name: String,
        #[arg(long, default_value = "sluice.db")]
        db: PathBuf,
    },
}

/// Reads a password: prompted twice without echo on a terminal, one line from a pipe.
fn read_password() -> Result<String> {
    if std::io::stdin().is_terminal() {
        let a = rpassword::prompt_password("Password: ").context("cannot read the password")?;
        let b = rpassword::prompt_password("Again: ").context("cannot read the password")?;
        if a != b {
            anyhow::bail!("the passwords differ");
        }
        Ok(a)
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}

fn print_enrolment(e: &auth::Enrolment) {
    println!("TOTP secret: {}", e.secret);
    println!("Enrolment:   {}", e.uri);
    if let Some(q) = sluice_console::svg::qr_terminal(&e.uri) {
        println!("{q}");
    }
}

pub fn run(args: UserArgs) -> Result<ExitCode> {
    match args.command {
        UserCommand::Add { name, role, db } => {
            let role = Role::parse(&role)?;
            let store = db::open_store(&db)?;
            let password = read_password()?;
            let e = auth::add_user(store.conn(), &name, role, &password)?;
            auth::audit(
                store.conn(),
                None,
                "cli",
                "user.add",
                "success",
                &format!("{name} ({role})"),
            )?;
            println!("user {name} ({role}) added to {}", db.display());
            print_enrolment(&e);
            println!("Scan it with an authenticator app, or sign in and enrol at first login.");
        }
        UserCommand::Token { name, db } => {
            let store = db::open_store(&db)?;
            let t = auth::create_token(store.conn(), &name, Some("cli"))?;
            auth::audit(store.conn(), None, "cli", "user.token", "success", &name)?;
            println!("{t}");
        }
        UserCommand::List { db } => {
            let store = db::open_store(&db)?;
            for u in auth::list_users(store.conn())? {
                println!(
                    "{}\t{}\tmfa={}\t{}",
                    u.name,
                    u.role,
                    if u.mfa_enrolled {
                        "enrolled"
                    } else {
                        "pending"
                    },
                    if u.disabled {
                        "disabled"
                    } else if u.locked_until.is_some() {
                        "locked"
                    } else {
                        "active"
                    }
                );
            }
        }
        UserCommand::Unlock { name, db } => {
            let store = db::open_store(&db)?;
            auth::unlock(store.conn(), &name)?;
            auth::audit(store.conn(), None, "cli", "user.unlock", "success", &name)?;
            println!("user {name} unlocked");
        }
        UserCommand::ResetMfa { name, db } => {
            let store = db::open_store(&db)?;
            let e = auth::reset_mfa(store.conn(), &name)?;
            auth::audit(
                store.conn(),
                None,
                "cli",
                "user.reset-mfa",
                "success",
                &name,
            )?;
            print_enrolment(&e);
        }
        UserCommand::Passwd { name, db } => {
            let store = db::open_store(&db)?;
            let password = read_password()?;
            auth::set_password(store.conn(), &name, &password)?;
            auth::audit(store.conn(), None, "cli", "user.passwd", "success", &name)?;
            println!("password of {name} changed");
        }
    }
    Ok(ExitCode::SUCCESS)
}
