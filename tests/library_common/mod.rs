//! Set-up for tests that drive the library API in process (no server): an `App` on a
//! temporary sled store with a manual clock and the given messaging settings, and members.

use std::path::Path;
use std::sync::Arc;

use sendguard::app::NewMember;
use sendguard::clock::ManualClock;
use sendguard::config::{Config, MessagingConfig};
use sendguard::domain::Plan;
use sendguard::{App, Engine, Store};

/// An app on a new store in `dir`, the default engine, the clock and these settings.
pub fn app_with(dir: &Path, clock: Arc<ManualClock>, messaging: MessagingConfig) -> App {
    let config = Config {
        messaging,
        ..Config::default()
    };
    App::new(Store::open(dir).unwrap(), Engine::default(), &config, clock)
}

/// A new member's id.
pub async fn member(app: &App, handle: &str, plan: Plan) -> u64 {
    app.create_member(NewMember {
        handle: handle.into(),
        display_name: None,
        plan,
    })
    .await
    .unwrap()
    .member_id
}
