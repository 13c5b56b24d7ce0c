//! The SeaORM store on SQLite and PostgreSQL: `SeaStore` implements the
//! `Store` port with portable SQL over a SeaORM connection.
//!
//! Each submodule holds one area of the port; this file holds connecting,
//! migrating and the trait impl that routes to them. Queries are hand-written
//! SQL rather than entity queries because the port's semantics are SQL facts
//! (`ON CONFLICT DO NOTHING`, conditional `UPDATE` checked by rows affected,
//! `EXISTS` gates), and one text with `$n` placeholders runs on both databases.

mod accounts;
mod activity;
mod audit;
mod capture;
mod diagnose;
mod digest;
mod directory;
mod drafts;
mod email_detail;
mod error;
mod logs;
mod paging;
mod proposals;
mod sql;
mod trust;

use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend};
use tracing::instrument;

use mailroom_migrations::{Migrator, MigratorTrait};
use mailroom_ports::reads::{
    CaptureErrorEntry, DigestSendEntry, DraftEntry, EmailDetail, Page, PageRequest, ProposalQuery,
};
use mailroom_ports::records::{
    ActivityPage, ActivityQuery, CaptureAttempts, CaptureOutcome, CaptureRequest, Decision,
    DigestClaim, DigestRow, DigestSendLog, DigestState, DirectoryCounts, DirectoryUpdate,
    DraftRecord, EmailAccount, InvestorRef, MatchDirectory, Proposal, ProposalStatus, ReplySource,
    SyncRecord, User,
};
use mailroom_ports::{
    AccountId, ActivityId, EmailAddress, EmailId, ProposalId, Store, StoreError, UserId,
};

/// How long a statement waits for a SQLite write lock or a pooled connection
/// before the store reports `Unavailable`.
const WAIT: Duration = Duration::from_secs(10);

/// Rows SQLite's `ANALYZE` samples per index: enough for the planner, fast
/// at a million rows.
const ANALYSIS_LIMIT: u32 = 1000;

/// mailroom's database, SQLite or PostgreSQL by URL.
#[derive(Clone)]
pub struct SeaStore {
    db: DatabaseConnection,
}

impl std::fmt::Debug for SeaStore {
    // The connection's Debug output could carry the URL and its password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeaStore")
            .field("backend", &self.db.get_database_backend())
            .finish()
    }
}

impl SeaStore {
    /// Connects to `url` (`sqlite://path?mode=rwc`, `sqlite::memory:`, or
    /// `postgres://…`). A SQLite file is created if missing and runs with
    /// foreign keys on, WAL and a busy timeout.
    ///
    /// # Errors
    /// `Unavailable` when the database cannot be reached; the message never
    /// carries the URL (it may hold a password).
    pub async fn connect(url: &str) -> Result<SeaStore, StoreError> {
        /// The part of a SQLite file read through a memory map (address
        /// space, not memory: the kernel's page cache backs it).
        const SQLITE_MMAP_BYTES: u64 = 1 << 30;
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .sqlx_logging(false)
            .acquire_timeout(WAIT)
            .connect_timeout(WAIT);
        if url.starts_with("sqlite:") {
            // Every connection to an in-memory database is a new, empty
            // database, so it gets exactly one.
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            options
                .max_connections(if in_memory { 1 } else { 4 })
                .map_sqlx_sqlite_opts(|o| {
                    o.create_if_missing(true)
                        .foreign_keys(true)
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                        .busy_timeout(WAIT)
                        // Statistics: without them SQLite's planner guesses
                        // (the mailbox filter went from seconds to
                        // milliseconds with ANALYZE at 100,000 emails).
                        .analysis_limit(ANALYSIS_LIMIT)
                        .optimize_on_close(true, ANALYSIS_LIMIT)
                        // Pages are read through a shared memory map instead
                        // of a read call each into every connection's own
                        // cache.
                        .pragma("mmap_size", SQLITE_MMAP_BYTES.to_string())
                });
        } else {
            // A prepared statement switches to a generic plan after five runs
            // per connection; the activity filters' best plans depend on
            // their values (a rare word wants the text index, a common one
            // the time index), so every execution is planned with its values.
            options
                .max_connections(8)
                .map_sqlx_postgres_opts(|o| o.options([("plan_cache_mode", "force_custom_plan")]));
        }
        let db = match Database::connect(options).await {
            Ok(db) => db,
            Err(e) => {
                let cause = diagnose::connect_failure(url, &e.to_string()).await;
                tracing::warn!(error = %e, %cause, "database connection failed");
                return Err(StoreError::Unavailable(format!(
                    "could not connect to the database: {cause}"
                )));
            }
        };
        Ok(SeaStore { db })
    }

    /// Applies every pending migration; a no-op when the schema is current.
    ///
    /// # Errors
    /// As [`SeaStore::connect`] for connection failures; `Unexpected` when a
    /// migration fails.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        Migrator::up(&self.db, None).await.map_err(error::from_db)?;
        // New indexes have no statistics until analysed; on SQLite nothing
        // else would ever collect them (PostgreSQL's autovacuum does).
        if self.db.get_database_backend() != DbBackend::Postgres {
            self.refresh_statistics().await?;
        }
        Ok(())
    }

    /// Refreshes the planner's statistics: a sampled `ANALYZE` on SQLite,
    /// `ANALYZE` on PostgreSQL. Run after migrating and after a bulk load.
    ///
    /// # Errors
    /// `Unavailable`/`Unexpected` as any statement.
    pub async fn refresh_statistics(&self) -> Result<(), StoreError> {
        let statement = match self.db.get_database_backend() {
            DbBackend::Postgres => "ANALYZE",
            _ => "PRAGMA optimize = 0x10002",
        };
        self.db
            .execute_unprepared(statement)
            .await
            .map_err(error::from_db)?;
        Ok(())
    }

    /// How many migrations this binary knows that the database has not had
    /// (the readiness check: 0 means migrated).
    ///
    /// # Errors
    /// `Unavailable` when the database does not answer.
    pub async fn pending_migrations(&self) -> Result<usize, StoreError> {
        Migrator::get_pending_migrations(&self.db)
            .await
            .map(|m| m.len())
            .map_err(error::from_db)
    }

    /// The backend's name, `sqlite` or `postgres`, for the admin status.
    pub fn backend_name(&self) -> &'static str {
        match self.db.get_database_backend() {
            sea_orm::DatabaseBackend::Sqlite => "sqlite",
            sea_orm::DatabaseBackend::Postgres => "postgres",
            _ => "other",
        }
    }

    /// The underlying connection, for wiring and tests.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }
}

#[async_trait]
impl Store for SeaStore {
    #[instrument(skip_all, fields(users = update.users.len(), investors = update.investors.len(), contacts = update.contacts.len()))]
    async fn upsert_directory(
        &self,
        update: DirectoryUpdate,
    ) -> Result<DirectoryCounts, StoreError> {
        directory::upsert_directory(&self.db, update).await
    }

    async fn user_by_email(&self, email: &EmailAddress) -> Result<Option<User>, StoreError> {
        directory::user_by_email(&self.db, email).await
    }

    async fn active_admins(&self) -> Result<Vec<User>, StoreError> {
        directory::active_admins(&self.db).await
    }

    async fn digest_team(&self) -> Result<Vec<User>, StoreError> {
        directory::digest_team(&self.db).await
    }

    async fn match_directory(&self) -> Result<MatchDirectory, StoreError> {
        directory::match_directory(&self.db).await
    }

    async fn dropdown_investors(&self) -> Result<Vec<InvestorRef>, StoreError> {
        directory::dropdown_investors(&self.db).await
    }

    async fn own_addresses(&self) -> Result<Vec<EmailAddress>, StoreError> {
        accounts::own_addresses(&self.db).await
    }

    async fn list_accounts(&self) -> Result<Vec<EmailAccount>, StoreError> {
        accounts::list_accounts(&self.db).await
    }

    async fn get_account(&self, id: AccountId) -> Result<EmailAccount, StoreError> {
        accounts::get_account(&self.db, id).await
    }

    #[instrument(skip_all)]
    async fn create_account(
        &self,
        user_email: &EmailAddress,
        email_address: &EmailAddress,
    ) -> Result<EmailAccount, StoreError> {
        accounts::create_account(&self.db, user_email, email_address).await
    }

    #[instrument(skip_all, fields(account = %id, enabled = enabled))]
    async fn set_account_enabled(
        &self,
        id: AccountId,
        enabled: bool,
    ) -> Result<EmailAccount, StoreError> {
        accounts::set_account_enabled(&self.db, id, enabled).await
    }

    #[instrument(skip_all, fields(account = %id, holder = %holder))]
    async fn try_lease_account(
        &self,
        id: AccountId,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        accounts::try_lease_account(&self.db, id, holder, now, until).await
    }

    #[instrument(skip_all, fields(account = %id, holder = %holder))]
    async fn release_account(&self, id: AccountId, holder: &str) -> Result<(), StoreError> {
        accounts::release_account(&self.db, id, holder).await
    }

    #[instrument(skip_all, fields(account = %id))]
    async fn record_sync(&self, id: AccountId, record: SyncRecord) -> Result<(), StoreError> {
        accounts::record_sync(&self.db, id, record).await
    }

    async fn known_gmail_ids(
        &self,
        id: AccountId,
        gmail_ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        accounts::known_gmail_ids(&self.db, id, gmail_ids).await
    }

    async fn capture_attempts(
        &self,
        id: AccountId,
        gmail_ids: &[String],
    ) -> Result<Vec<CaptureAttempts>, StoreError> {
        accounts::capture_attempts(&self.db, id, gmail_ids).await
    }

    async fn live_gmail_ids(&self, id: AccountId) -> Result<Vec<String>, StoreError> {
        accounts::live_gmail_ids(&self.db, id).await
    }

    #[instrument(skip_all, fields(account = %request.account_id, links = request.links.len()))]
    async fn capture(&self, request: CaptureRequest) -> Result<CaptureOutcome, StoreError> {
        capture::capture(&self.db, request).await
    }

    async fn capture_many(
        &self,
        requests: Vec<CaptureRequest>,
    ) -> Result<Vec<CaptureOutcome>, StoreError> {
        capture::capture_many(&self.db, requests).await
    }

    #[instrument(skip_all, fields(account = %id))]
    async fn soft_delete_sighting(
        &self,
        id: AccountId,
        gmail_message_id: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        capture::soft_delete_sighting(&self.db, id, gmail_message_id, at).await
    }

    #[instrument(skip_all, fields(account = %id))]
    async fn record_capture_error(
        &self,
        id: AccountId,
        gmail_message_id: &str,
        error: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        capture::record_capture_error(&self.db, id, gmail_message_id, error, at).await
    }

    #[instrument(skip_all, fields(limit = query.limit))]
    async fn query_activity(&self, query: ActivityQuery) -> Result<ActivityPage, StoreError> {
        activity::query_activity(&self.db, query).await
    }

    #[instrument(skip_all, fields(email = %email_id))]
    async fn email_detail(&self, email_id: EmailId) -> Result<EmailDetail, StoreError> {
        email_detail::email_detail(&self.db, email_id).await
    }

    async fn digest_sends(&self, page: PageRequest) -> Result<Page<DigestSendEntry>, StoreError> {
        logs::digest_sends(&self.db, page).await
    }

    #[instrument(skip_all, fields(account = %id))]
    async fn capture_errors(
        &self,
        id: AccountId,
        page: PageRequest,
    ) -> Result<Page<CaptureErrorEntry>, StoreError> {
        logs::capture_errors(&self.db, id, page).await
    }

    async fn list_drafts(
        &self,
        created_by: Option<UserId>,
        page: PageRequest,
    ) -> Result<Page<DraftEntry>, StoreError> {
        logs::list_drafts(&self.db, created_by, page).await
    }

    async fn proposal_page(&self, query: ProposalQuery) -> Result<Page<Proposal>, StoreError> {
        proposals::proposal_page(&self.db, query).await
    }

    async fn list_proposals(
        &self,
        status: Option<ProposalStatus>,
        visible_to: Option<UserId>,
    ) -> Result<Vec<Proposal>, StoreError> {
        proposals::list_proposals(&self.db, status, visible_to).await
    }

    async fn get_proposal(&self, id: ProposalId) -> Result<Proposal, StoreError> {
        proposals::get_proposal(&self.db, id).await
    }

    #[instrument(skip_all, fields(proposal = %id, ?decision, by = %by))]
    async fn apply_decision(
        &self,
        id: ProposalId,
        decision: Decision,
        by: UserId,
        at: Timestamp,
    ) -> Result<Option<ActivityId>, StoreError> {
        proposals::apply_decision(&self.db, id, decision, by, at).await
    }

    async fn reply_source(&self, email_id: EmailId) -> Result<ReplySource, StoreError> {
        drafts::reply_source(&self.db, email_id).await
    }

    #[instrument(skip_all, fields(email = %draft.email_id, account = %draft.account_id))]
    async fn record_draft(&self, draft: DraftRecord) -> Result<(), StoreError> {
        drafts::record_draft(&self.db, draft).await
    }

    async fn digest_rows(
        &self,
        since: Timestamp,
        until: Timestamp,
        sent_after: Timestamp,
    ) -> Result<Vec<DigestRow>, StoreError> {
        digest::digest_rows(&self.db, since, until, sent_after).await
    }

    async fn get_setting(&self, key: &str) -> Result<Option<serde_json::Value>, StoreError> {
        digest::get_setting(&self.db, key).await
    }

    #[instrument(skip_all, fields(key = %key))]
    async fn put_setting(&self, key: &str, value: serde_json::Value) -> Result<(), StoreError> {
        digest::put_setting(&self.db, key, &value).await
    }

    async fn digest_state(&self) -> Result<DigestState, StoreError> {
        digest::digest_state(&self.db).await
    }

    #[instrument(skip_all, fields(%day, holder = %holder))]
    async fn claim_digest_day(
        &self,
        day: Date,
        holder: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Option<DigestClaim>, StoreError> {
        digest::claim_digest_day(&self.db, day, holder, now, lease_until).await
    }

    #[instrument(skip_all, fields(%day, holder = %holder))]
    async fn complete_digest_day(
        &self,
        day: Date,
        holder: &str,
        cursor: Timestamp,
    ) -> Result<(), StoreError> {
        digest::complete_digest_day(&self.db, day, holder, cursor).await
    }

    #[instrument(skip_all, fields(%day, holder = %holder))]
    async fn fail_digest_day(
        &self,
        day: Date,
        holder: &str,
        retry_at: Timestamp,
    ) -> Result<(), StoreError> {
        digest::fail_digest_day(&self.db, day, holder, retry_at).await
    }

    #[instrument(skip_all)]
    async fn record_digest_send(&self, log: DigestSendLog) -> Result<(), StoreError> {
        digest::record_digest_send(&self.db, log).await
    }
}
