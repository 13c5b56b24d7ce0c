//! Fresh, throwaway databases for tests: a temp SQLite file or a new
//! PostgreSQL database, removed when the `TestDb` drops (even on panic).

use std::path::PathBuf;

use sea_orm::{ConnectionTrait, Database};

use mailroom_adapters::store::SeaStore;

/// The PostgreSQL server tests create their databases on.
pub const PG_URL_VAR: &str = "MAILROOM_TEST_PG_URL";
const PG_DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// One fresh database, dropped with this value.
pub struct TestDb {
    /// Connect here (e.g. `SeaStore::connect`, or the app's `DATABASE_URL`).
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    SqliteFile(PathBuf),
    PostgresDatabase { admin_url: String, name: String },
}

impl TestDb {
    /// A new SQLite file in the temp directory.
    pub async fn sqlite() -> TestDb {
        let path = std::env::temp_dir().join(format!("{}.sqlite", unique_name()));
        TestDb {
            url: format!("sqlite://{}?mode=rwc", path.display()),
            cleanup: Cleanup::SqliteFile(path),
        }
    }

    /// A new database `mailroom_t_<random>` on `MAILROOM_TEST_PG_URL`
    /// (default `postgres://postgres@127.0.0.1:5432/postgres`).
    ///
    /// # Panics
    /// When the server cannot be reached or refuses `CREATE DATABASE`.
    pub async fn postgres() -> TestDb {
        let admin_url = std::env::var(PG_URL_VAR).unwrap_or_else(|_| PG_DEFAULT_URL.to_string());
        let name = unique_name();
        let admin = Database::connect(admin_url.as_str())
            .await
            .unwrap_or_else(|e| {
                panic!("cannot reach PostgreSQL at {PG_URL_VAR} (or its default): {e}")
            });
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        admin.close().await.expect("close admin connection");
        let mut url = url::Url::parse(&admin_url).expect("postgres URL");
        url.set_path(&format!("/{name}"));
        TestDb {
            url: url.to_string(),
            cleanup: Cleanup::PostgresDatabase { admin_url, name },
        }
    }

    /// A store on this database, connected and migrated. Each call opens a
    /// separate pool, like another replica would.
    pub async fn store(&self) -> SeaStore {
        let store = SeaStore::connect(&self.url)
            .await
            .expect("connect test store");
        store.migrate().await.expect("migrate test store");
        store
    }

    /// Which database this is, for assertion messages.
    pub fn backend(&self) -> &'static str {
        match self.cleanup {
            Cleanup::SqliteFile(_) => "sqlite",
            Cleanup::PostgresDatabase { .. } => "postgres",
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::SqliteFile(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Cleanup::PostgresDatabase { admin_url, name } => {
                // Drop may run inside the test's runtime (where blocking on
                // it is not allowed) or while unwinding; a thread with its own
                // runtime works in both. FORCE ends pools the test left open.
                let admin_url = admin_url.clone();
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                let outcome = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    runtime.block_on(async {
                        let admin = Database::connect(admin_url.as_str()).await?;
                        admin.execute_unprepared(&sql).await?;
                        admin.close().await?;
                        Ok::<_, anyhow::Error>(())
                    })
                })
                .join();
                if !matches!(outcome, Ok(Ok(()))) {
                    eprintln!("warning: could not drop test database {name}");
                }
            }
        }
    }
}

fn unique_name() -> String {
    format!("mailroom_t_{:016x}", rand::random::<u64>())
}

/// Generates one test per database from `async fn <name>(db: &TestDb)`:
/// `<name>::sqlite` and `<name>::postgres`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::db::TestDb::sqlite().await;
                super::$name(&db).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let db = $crate::db::TestDb::postgres().await;
                super::$name(&db).await;
            }
        }
    )*};
}

/// A small, fixed directory and message builders shared by the store tests.
pub mod seed {
    use jiff::Timestamp;

    use mailroom_adapters::store::SeaStore;
    use mailroom_ports::records::{
        CaptureRequest, DirectoryUpdate, EmailContent, EmailHeader, MatchLink, User,
    };
    use mailroom_ports::{AccountId, ContactId, EmailAddress, InvestorId, Store};

    /// A live investor with domain `acme.com` and contact [`LEE`].
    pub const ACME: InvestorId = InvestorId(1);
    /// A graveyard investor (domain `old.com`, contact [`OLGA`]).
    pub const OLD: InvestorId = InvestorId(2);
    /// A third live investor (domain `beta.vc`), no contacts.
    pub const BETA: InvestorId = InvestorId(3);
    pub const LEE: ContactId = ContactId(10);
    pub const MAX: ContactId = ContactId(11);
    pub const OLGA: ContactId = ContactId(20);

    pub fn ts(rfc3339: &str) -> Timestamp {
        rfc3339.parse().expect("test timestamp")
    }

    pub fn addr(raw: &str) -> EmailAddress {
        EmailAddress::parse(raw).expect("test address")
    }

    /// The team and mailboxes every store test starts from.
    pub struct Team {
        /// Active admin, mailbox `ann@fund.com`.
        pub ann: User,
        pub ann_box: AccountId,
        /// Active member, mailbox `bob@fund.com`.
        pub bob: User,
        pub bob_box: AccountId,
        /// Inactive member, mailbox `cat@fund.com`.
        pub cat: User,
        pub cat_box: AccountId,
    }

    /// The directory as the CRM would send it.
    pub fn directory() -> DirectoryUpdate {
        serde_json::from_value(serde_json::json!({
            "users": [
                {"email": "ann@fund.com", "display_name": "Ann", "role": "admin", "is_active": true},
                {"email": "bob@fund.com", "display_name": "Bob", "role": "member", "is_active": true},
                {"email": "cat@fund.com", "display_name": "Cat", "role": "member", "is_active": false},
            ],
            "investors": [
                {"id": 1, "name": "Acme Capital", "domains": ["acme.com"]},
                {"id": 2, "name": "Old LP", "graveyard": true, "domains": ["old.com"]},
                {"id": 3, "name": "Beta Ventures", "domains": ["beta.vc"]},
            ],
            "contacts": [
                {"id": 10, "investor_id": 1, "name": "Lee Park", "emails": ["lee@acme.com"]},
                {"id": 11, "investor_id": 1, "name": "Max Acme", "emails": ["max@acme.com"]},
                {"id": 20, "investor_id": 2, "name": "Olga Old", "emails": ["olga@old.com"]},
            ],
        }))
        .expect("fixture directory")
    }

    /// Loads [`directory`] and gives Ann, Bob and Cat a mailbox each.
    pub async fn team(store: &SeaStore) -> Team {
        store
            .upsert_directory(directory())
            .await
            .expect("seed directory");
        let user = |email: &'static str| async move {
            store
                .user_by_email(&addr(email))
                .await
                .expect("user")
                .expect("seeded user")
        };
        let mailbox = |email: &'static str| async move {
            store
                .create_account(&addr(email), &addr(email))
                .await
                .expect("seed mailbox")
                .id
        };
        Team {
            ann: user("ann@fund.com").await,
            ann_box: mailbox("ann@fund.com").await,
            bob: user("bob@fund.com").await,
            bob_box: mailbox("bob@fund.com").await,
            cat: user("cat@fund.com").await,
            cat_box: mailbox("cat@fund.com").await,
        }
    }

    /// One email as the parser and matcher would hand it to the store.
    #[derive(Clone)]
    pub struct Msg {
        pub dedup_key: String,
        pub from: EmailAddress,
        pub to: Vec<EmailAddress>,
        pub subject: String,
        pub sent_at: Timestamp,
        /// When the mailbox captured it; the send time unless set.
        pub captured_at: Option<Timestamp>,
        pub links: Vec<MatchLink>,
    }

    impl Msg {
        pub fn new(dedup_key: &str, from: &str, to: &[&str], sent_at: &str) -> Msg {
            Msg {
                dedup_key: dedup_key.to_string(),
                from: addr(from),
                to: to.iter().map(|a| addr(a)).collect(),
                subject: format!("About {dedup_key}"),
                sent_at: ts(sent_at),
                captured_at: None,
                links: Vec::new(),
            }
        }

        /// Captured at `at` rather than at its send time.
        pub fn captured(mut self, at: &str) -> Msg {
            self.captured_at = Some(ts(at));
            self
        }

        pub fn subject(mut self, subject: &str) -> Msg {
            self.subject = subject.to_string();
            self
        }

        /// Adds a match; content is stored only for matched messages.
        pub fn link(
            mut self,
            investor: InvestorId,
            contact: Option<ContactId>,
            matched: &str,
        ) -> Msg {
            self.links.push(MatchLink {
                investor_id: investor,
                contact_id: contact,
                matched_address: addr(matched),
            });
            self
        }

        /// The capture of this message in one mailbox.
        pub fn seen_by(&self, account: AccountId, gmail_id: &str, is_sent: bool) -> CaptureRequest {
            let matched = !self.links.is_empty();
            CaptureRequest {
                account_id: account,
                gmail_message_id: gmail_id.to_string(),
                gmail_thread_id: format!("thread-{}", self.dedup_key),
                labels: if is_sent {
                    vec!["SENT".to_string()]
                } else {
                    vec!["INBOX".to_string()]
                },
                is_sent,
                header: EmailHeader {
                    dedup_key: self.dedup_key.clone(),
                    message_id: Some(self.dedup_key.clone()),
                    from_email: Some(self.from.clone()),
                    from_name: Some(format!("Sender of {}", self.dedup_key)),
                    to: self.to.clone(),
                    cc: Vec::new(),
                    reply_to: Vec::new(),
                    in_reply_to: None,
                    references: Vec::new(),
                    sent_at: self.sent_at,
                    size: 1234,
                },
                content: matched.then(|| EmailContent {
                    subject: Some(self.subject.clone()),
                    snippet: Some(format!("snippet of {}", self.subject)),
                    body: Some("body text".to_string()),
                    attachments: Vec::new(),
                }),
                links: self.links.clone(),
                captured_at: self.captured_at.unwrap_or(self.sent_at),
            }
        }
    }
}
