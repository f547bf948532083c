//! A PostgreSQL schema of its own for one test: created (and migrated) on demand, dropped
//! when the test ends, so tests run in parallel and leave nothing behind.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use sendguard::store::PgSettings;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The test server of this project's machines and CI (trust auth, database `test`).
pub const SERVER: &str = "postgres://postgres@127.0.0.1:5432/test";

const MISSING: &str = "PostgreSQL is not answering at 127.0.0.1:5432 (database `test`, trust \
                       auth): start it with `scripts/start-services` (Debian: `apt-get install \
                       postgresql && service postgresql start`)";

pub struct Schema {
    pub name: String,
}

/// Runs `sql` on the server, from a thread of its own (callers may be async tests).
fn on_server(sql: &str) {
    let sql = sql.to_string();
    let outcome = std::thread::spawn(move || run_on_server(&sql)).join();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

fn run_on_server(sql: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(SERVER, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|error| panic!("{MISSING}: {error}"));
        let driver = tokio::spawn(connection);
        client
            .batch_execute(sql)
            .await
            .unwrap_or_else(|error| panic!("{sql}: {error}"));
        drop(client);
        let _ = driver.await;
    });
}

impl Schema {
    /// A new, empty schema named after the test.
    pub fn new(test: &str) -> Schema {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "sgtest_{}_{}_{}",
            test.to_lowercase(),
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        on_server(&format!(
            "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
        ));
        Schema { name }
    }

    /// The URL of this schema (`search_path` set through the connection's options).
    pub fn url(&self) -> String {
        format!("{SERVER}?options=-c%20search_path%3D{}", self.name)
    }

    pub fn settings(&self) -> PgSettings {
        PgSettings {
            url: self.url(),
            pool_size: 4,
            timeout: std::time::Duration::from_secs(10),
            retry_after_secs: 1,
        }
    }

    /// The `[store]` section of a server config on this schema.
    pub fn store_config(&self) -> String {
        format!(
            "[store]\nbackend = \"postgres\"\nurl = \"{}\"\npool_size = 4\n",
            self.url()
        )
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        on_server(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
    }
}

/// A TCP proxy to PostgreSQL the test can cut and restore, on a fixed loopback port.
pub struct Proxy {
    port: u16,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    pub async fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let proxy = Proxy {
            port,
            tasks: Arc::default(),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: TcpListener) {
        let tasks = Arc::clone(&self.tasks);
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let link = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect("127.0.0.1:5432").await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                tasks.lock().unwrap().push(link);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    /// Closes the listener and every open connection: the database is gone.
    pub fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    pub async fn restore(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.serve(listener);
    }

    pub fn url(&self, schema: &Schema) -> String {
        schema
            .url()
            .replace("127.0.0.1:5432", &format!("127.0.0.1:{}", self.port))
    }
}
