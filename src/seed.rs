//! Demo data: a few members, connections and a reviewer, so a new user can try the API
//! with curl in a minute. Refuses to run on a store that already has members.

use serde::Serialize;

use crate::app::{App, NewMember};
use crate::domain::Plan;
use crate::error::{Error, ErrorKind, Result};

#[derive(Debug, Serialize)]
pub struct DemoAccount {
    pub handle: String,
    pub member_id: u64,
    pub plan: Plan,
    pub token: String,
}

#[derive(Debug, Serialize)]
pub struct Demo {
    pub members: Vec<DemoAccount>,
    pub connections: Vec<(String, String)>,
    pub reviewer_token: String,
}

/// Creates alice (premium), bob, carol and dave; alice–bob and bob–carol are connected.
pub async fn seed_demo(app: &App) -> Result<Demo> {
    if app.has_members()? {
        return Err(Error::new(
            ErrorKind::Conflict,
            "store_not_empty",
            "the store already has members; seed only a new store",
        ));
    }
    let plans = [
        ("alice", Plan::Premium),
        ("bob", Plan::Free),
        ("carol", Plan::Free),
        ("dave", Plan::Free),
    ];
    let mut members = Vec::new();
    for (handle, plan) in plans {
        let created = app
            .create_member(NewMember {
                handle: handle.into(),
                display_name: None,
                plan,
            })
            .await?;
        members.push(DemoAccount {
            handle: handle.into(),
            member_id: created.member_id,
            plan,
            token: created.token,
        });
    }
    let connections = [("alice", "bob"), ("bob", "carol")];
    for (a, b) in connections {
        let id = |handle: &str| {
            members
                .iter()
                .find(|m| m.handle == handle)
                .map(|m| m.member_id)
        };
        if let (Some(a), Some(b)) = (id(a), id(b)) {
            app.connect(a, b).await?;
        }
    }
    let reviewer = app.create_reviewer("demo reviewer").await?;
    Ok(Demo {
        members,
        connections: connections
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        reviewer_token: reviewer.token,
    })
}

/// The file, in the store directory, that keeps the demo tokens as shell exports: the
/// store can be seeded once, and a second terminal needs the tokens too. It lives with the
/// store so that removing the store to start over removes the stale tokens with it.
pub const ENV_FILE: &str = "demo.env";

/// `export NAME_ID=…` and `export NAME_TOKEN=…` per member, then `REVIEWER_TOKEN`.
pub fn shell_exports(demo: &Demo) -> String {
    let mut out = String::new();
    for member in &demo.members {
        let name = member.handle.to_uppercase();
        out.push_str(&format!("export {name}_ID={}\n", member.member_id));
        out.push_str(&format!("export {name}_TOKEN={}\n", member.token));
    }
    out.push_str(&format!("export REVIEWER_TOKEN={}\n", demo.reviewer_token));
    out
}

/// Writes the exports readable by the owner only: they are bearer tokens.
pub fn write_env_file(path: &std::path::Path, exports: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(path)?, exports.as_bytes())
}

/// What to do about a store that is already seeded: where its tokens are, how to start over.
pub fn already_seeded(data: &std::path::Path) -> String {
    let env = data.join(ENV_FILE);
    let dir = data.display();
    let tokens = if env.is_file() {
        format!("its demo tokens are in {0}: `source {0}`; ", env.display())
    } else {
        String::new()
    };
    format!(
        "{dir} already has members; {tokens}to start over, stop the server and remove the \
         store: `rm -rf {dir}`, then seed again"
    )
}
