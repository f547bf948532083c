//! Demo data: a few members, connections and a reviewer, so a new user can try the API
//! with curl in a minute. Refuses to run on a store that already has members.

use serde::Serialize;

use crate::app::{App, NewMember};
use crate::domain::Plan;
use crate::error::{Error, ErrorKind, Result};
use crate::store::keys;

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
    if app.store.count(keys::MEMBER) > 0 {
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
