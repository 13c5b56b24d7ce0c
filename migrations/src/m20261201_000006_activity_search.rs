//! Speed at a fund's size: what the activity filters and the digest need is
//! stored on the rows they read, kept correct by triggers, with an index that
//! starts at each filter and a full-text index for the free-text search.
//!
//! Decisions:
//! - `emails.outbound`, `emails.matched` and `emails.live_sightings` are
//!   derived facts (sender is one of our mailboxes; the email has an investor
//!   link; how many sightings are not soft-deleted). Triggers keep them, not
//!   the capture code, so every writer (capture, re-match, repair, a bulk
//!   seed) keeps them right, and a mailbox added later turns its earlier mail
//!   outbound in the same statement that adds it.
//! - Sightings and links carry their email's `sent_at`, so a mailbox or an
//!   investor filter walks its own index newest first instead of probing
//!   every email.
//! - The "visible" set (matched and live) is a partial index on both
//!   databases; queries repeat its predicate word for word so both planners
//!   can use it.
//! - Free text: SQLite gets an FTS5 table (unicode61 with diacritics
//!   removed); its rowid is a time key (`unixepoch(sent_at) * 2^30 + id
//!   mod 2^30`) so a search walks matches newest first and stops after one
//!   page, however common the word. PostgreSQL gets a `tsvector` column with
//!   a GIN index: the planner chooses between walking the time index with the
//!   word test (common words) and the GIN index plus a sort (rare words),
//!   which needs custom plans and statistics (see the store's connect
//!   options). `pg_trgm` was not chosen: it finds substrings, but its index
//!   cannot answer one- or two-letter words and ranks no better, while a
//!   word-prefix `tsquery` is what the search promises on both databases.
//!   Punctuation is turned into spaces before indexing, so the parts of an
//!   address (`lee`, `acme`, `com`) are words on both databases.
//! - Only matched email is in the search index: the list shows nothing else.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let own = match manager.get_database_backend() {
            DatabaseBackend::Postgres => POSTGRES_UP,
            _ => SQLITE_UP,
        };
        for statement in COMMON_UP.iter().chain(own) {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let statements = match manager.get_database_backend() {
            DatabaseBackend::Postgres => POSTGRES_DOWN,
            _ => SQLITE_DOWN,
        };
        for statement in statements {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }
}

/// The derived columns and the backfill, in SQL both databases accept.
const COMMON_UP: &[&str] = &[
    "ALTER TABLE emails ADD COLUMN outbound BOOLEAN NOT NULL DEFAULT FALSE",
    "ALTER TABLE emails ADD COLUMN matched BOOLEAN NOT NULL DEFAULT FALSE",
    "ALTER TABLE emails ADD COLUMN live_sightings INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE email_account_messages ADD COLUMN sent_at TEXT NULL",
    "ALTER TABLE email_investor_links ADD COLUMN sent_at TEXT NULL",
    "UPDATE emails SET \
             outbound = EXISTS (SELECT 1 FROM email_accounts a WHERE a.email_address = emails.from_email), \
             matched = EXISTS (SELECT 1 FROM email_investor_links l WHERE l.email_id = emails.id), \
             live_sightings = (SELECT COUNT(*) FROM email_account_messages s \
                               WHERE s.email_id = emails.id AND s.deleted_at IS NULL)",
    "UPDATE email_account_messages SET sent_at = \
             (SELECT e.sent_at FROM emails e WHERE e.id = email_account_messages.email_id)",
    "UPDATE email_investor_links SET sent_at = \
             (SELECT e.sent_at FROM emails e WHERE e.id = email_investor_links.email_id)",
    // The unfiltered list and the direction filter walk these.
    "CREATE INDEX ix_emails_visible_sent_at ON emails (sent_at, id) \
             WHERE matched = TRUE AND live_sightings > 0",
    "CREATE INDEX ix_emails_visible_outbound_sent_at ON emails (outbound, sent_at, id) \
             WHERE matched = TRUE AND live_sightings > 0",
    // The mailbox filter walks one mailbox's live sightings by time.
    "CREATE INDEX ix_email_account_messages_live_account_sent_at \
             ON email_account_messages (account_id, sent_at, email_id) WHERE deleted_at IS NULL",
    // The investor filter walks one investor's links by time.
    "CREATE INDEX ix_email_investor_links_investor_sent_at \
             ON email_investor_links (investor_id, sent_at, email_id)",
];

const SQLITE_UP: &[&str] = &[
    "CREATE VIRTUAL TABLE emails_fts USING fts5(subject, snippet, from_email, from_name, \
         email_id UNINDEXED, tokenize = 'unicode61 remove_diacritics 2')",
    "INSERT INTO emails_fts (rowid, subject, snippet, from_email, from_name, email_id) \
         SELECT unixepoch(sent_at) * 1073741824 + (id & 1073741823), subject, snippet, \
         from_email, from_name, id FROM emails WHERE matched = TRUE",
    // Direction: an email's sender against every mailbox, at insert and
    // whenever the mailboxes change.
    "CREATE TRIGGER tr_emails_outbound_insert AFTER INSERT ON emails \
         WHEN NEW.outbound = FALSE AND EXISTS \
         (SELECT 1 FROM email_accounts a WHERE a.email_address = NEW.from_email) BEGIN \
         UPDATE emails SET outbound = TRUE WHERE id = NEW.id; END",
    "CREATE TRIGGER tr_email_accounts_outbound_insert AFTER INSERT ON email_accounts BEGIN \
         UPDATE emails SET outbound = TRUE WHERE from_email = NEW.email_address \
         AND outbound = FALSE; END",
    "CREATE TRIGGER tr_email_accounts_outbound_update AFTER UPDATE OF email_address \
         ON email_accounts BEGIN \
         UPDATE emails SET outbound = EXISTS (SELECT 1 FROM email_accounts a \
         WHERE a.email_address = emails.from_email) \
         WHERE from_email IN (OLD.email_address, NEW.email_address); END",
    "CREATE TRIGGER tr_email_accounts_outbound_delete AFTER DELETE ON email_accounts BEGIN \
         UPDATE emails SET outbound = EXISTS (SELECT 1 FROM email_accounts a \
         WHERE a.email_address = emails.from_email) WHERE from_email = OLD.email_address; END",
    // Liveness: the count of sightings without deleted_at.
    "CREATE TRIGGER tr_sightings_insert AFTER INSERT ON email_account_messages BEGIN \
         UPDATE email_account_messages SET sent_at = \
         (SELECT e.sent_at FROM emails e WHERE e.id = NEW.email_id) \
         WHERE id = NEW.id AND NEW.sent_at IS NULL; \
         UPDATE emails SET live_sightings = live_sightings + 1 \
         WHERE id = NEW.email_id AND NEW.deleted_at IS NULL; END",
    "CREATE TRIGGER tr_sightings_deleted_at AFTER UPDATE OF deleted_at \
         ON email_account_messages \
         WHEN (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL) BEGIN \
         UPDATE emails SET live_sightings = live_sightings + \
         (CASE WHEN NEW.deleted_at IS NULL THEN 1 ELSE -1 END) WHERE id = NEW.email_id; END",
    "CREATE TRIGGER tr_sightings_delete AFTER DELETE ON email_account_messages \
         WHEN OLD.deleted_at IS NULL BEGIN \
         UPDATE emails SET live_sightings = live_sightings - 1 WHERE id = OLD.email_id; END",
    // Matched: an email with at least one investor link.
    "CREATE TRIGGER tr_links_insert AFTER INSERT ON email_investor_links BEGIN \
         UPDATE email_investor_links SET sent_at = \
         (SELECT e.sent_at FROM emails e WHERE e.id = NEW.email_id) \
         WHERE id = NEW.id AND NEW.sent_at IS NULL; \
         UPDATE emails SET matched = TRUE WHERE id = NEW.email_id AND matched = FALSE; END",
    "CREATE TRIGGER tr_links_delete AFTER DELETE ON email_investor_links BEGIN \
         UPDATE emails SET matched = EXISTS (SELECT 1 FROM email_investor_links l \
         WHERE l.email_id = OLD.email_id) WHERE id = OLD.email_id; END",
    // The search index follows matched email's text: insert when it
    // becomes matched, replace when its content is stored or purged.
    "CREATE TRIGGER tr_emails_fts_update AFTER UPDATE OF matched, subject, snippet, \
         from_email, from_name ON emails BEGIN \
         DELETE FROM emails_fts WHERE OLD.matched = TRUE \
         AND rowid = unixepoch(OLD.sent_at) * 1073741824 + (OLD.id & 1073741823); \
         INSERT INTO emails_fts (rowid, subject, snippet, from_email, from_name, email_id) \
         SELECT unixepoch(NEW.sent_at) * 1073741824 + (NEW.id & 1073741823), NEW.subject, \
         NEW.snippet, NEW.from_email, NEW.from_name, NEW.id WHERE NEW.matched = TRUE; END",
    "CREATE TRIGGER tr_emails_fts_delete AFTER DELETE ON emails WHEN OLD.matched = TRUE BEGIN \
         DELETE FROM emails_fts \
         WHERE rowid = unixepoch(OLD.sent_at) * 1073741824 + (OLD.id & 1073741823); END",
];

const POSTGRES_UP: &[&str] = &[
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    // Lower case, accents removed, ASCII punctuation as spaces, then the
    // `simple` configuration (no stemming, no stop words): the same words
    // SQLite's unicode61 tokenizer sees. The dictionary is named so the
    // function is truly immutable.
    "CREATE OR REPLACE FUNCTION mailroom_search_text(t text) RETURNS text \
         LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ \
         SELECT regexp_replace(unaccent('unaccent'::regdictionary, lower(coalesce(t, ''))), \
         '[[:punct:]]+', ' ', 'g') $$",
    "CREATE OR REPLACE FUNCTION mailroom_search_vector(subject text, snippet text, \
         from_email text, from_name text) RETURNS tsvector \
         LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ \
         SELECT to_tsvector('simple'::regconfig, mailroom_search_text( \
         coalesce(subject, '') || ' ' || coalesce(snippet, '') || ' ' || \
         coalesce(from_email, '') || ' ' || coalesce(from_name, ''))) $$",
    // Every whitespace-separated word of the (already tokenised) input
    // becomes a quoted prefix term, so no character the user typed is
    // ever read as tsquery syntax.
    "CREATE OR REPLACE FUNCTION mailroom_search_query(q text) RETURNS tsquery \
         LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ \
         SELECT to_tsquery('simple'::regconfig, coalesce(string_agg( \
         '''' || translate(w, '''\\', '') || ''':*', ' & '), '')) \
         FROM regexp_split_to_table(mailroom_search_text(q), '\\s+') AS w \
         WHERE translate(w, '''\\', '') <> '' $$",
    "ALTER TABLE emails ADD COLUMN search_vector tsvector NULL",
    "UPDATE emails SET search_vector = \
         mailroom_search_vector(subject, snippet, from_email, from_name) WHERE matched",
    "CREATE INDEX ix_emails_search_vector ON emails USING GIN (search_vector)",
    "CREATE OR REPLACE FUNCTION mailroom_emails_derive() RETURNS trigger \
         LANGUAGE plpgsql AS $$ BEGIN \
         IF TG_OP = 'INSERT' OR NEW.from_email IS DISTINCT FROM OLD.from_email THEN \
         NEW.outbound := EXISTS (SELECT 1 FROM email_accounts a \
         WHERE a.email_address = NEW.from_email); END IF; \
         IF NEW.matched THEN NEW.search_vector := \
         mailroom_search_vector(NEW.subject, NEW.snippet, NEW.from_email, NEW.from_name); \
         ELSE NEW.search_vector := NULL; END IF; \
         RETURN NEW; END $$",
    "CREATE TRIGGER tr_emails_derive BEFORE INSERT OR UPDATE OF matched, subject, snippet, \
         from_email, from_name ON emails FOR EACH ROW EXECUTE FUNCTION mailroom_emails_derive()",
    "CREATE OR REPLACE FUNCTION mailroom_accounts_outbound() RETURNS trigger \
         LANGUAGE plpgsql AS $$ BEGIN \
         IF TG_OP IN ('UPDATE', 'DELETE') THEN \
         UPDATE emails SET outbound = EXISTS (SELECT 1 FROM email_accounts a \
         WHERE a.email_address = emails.from_email) WHERE from_email = OLD.email_address; \
         END IF; \
         IF TG_OP IN ('INSERT', 'UPDATE') THEN \
         UPDATE emails SET outbound = TRUE WHERE from_email = NEW.email_address \
         AND NOT outbound; END IF; \
         RETURN NULL; END $$",
    "CREATE TRIGGER tr_email_accounts_outbound AFTER INSERT OR DELETE OR UPDATE OF \
         email_address ON email_accounts FOR EACH ROW EXECUTE FUNCTION mailroom_accounts_outbound()",
    "CREATE OR REPLACE FUNCTION mailroom_copy_sent_at() RETURNS trigger \
         LANGUAGE plpgsql AS $$ BEGIN \
         IF NEW.sent_at IS NULL THEN \
         SELECT e.sent_at INTO NEW.sent_at FROM emails e WHERE e.id = NEW.email_id; END IF; \
         RETURN NEW; END $$",
    "CREATE TRIGGER tr_sightings_sent_at BEFORE INSERT ON email_account_messages \
         FOR EACH ROW EXECUTE FUNCTION mailroom_copy_sent_at()",
    "CREATE TRIGGER tr_links_sent_at BEFORE INSERT ON email_investor_links \
         FOR EACH ROW EXECUTE FUNCTION mailroom_copy_sent_at()",
    "CREATE OR REPLACE FUNCTION mailroom_sightings_live() RETURNS trigger \
         LANGUAGE plpgsql AS $$ BEGIN \
         IF TG_OP = 'INSERT' THEN \
         IF NEW.deleted_at IS NULL THEN UPDATE emails SET live_sightings = live_sightings + 1 \
         WHERE id = NEW.email_id; END IF; \
         ELSIF TG_OP = 'UPDATE' THEN \
         IF (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL) THEN \
         UPDATE emails SET live_sightings = live_sightings + \
         (CASE WHEN NEW.deleted_at IS NULL THEN 1 ELSE -1 END) WHERE id = NEW.email_id; END IF; \
         ELSIF OLD.deleted_at IS NULL THEN \
         UPDATE emails SET live_sightings = live_sightings - 1 WHERE id = OLD.email_id; END IF; \
         RETURN NULL; END $$",
    "CREATE TRIGGER tr_sightings_live AFTER INSERT OR DELETE OR UPDATE OF deleted_at \
         ON email_account_messages FOR EACH ROW EXECUTE FUNCTION mailroom_sightings_live()",
    "CREATE OR REPLACE FUNCTION mailroom_links_matched() RETURNS trigger \
     LANGUAGE plpgsql AS $$ BEGIN \
     IF TG_OP = 'INSERT' THEN \
     UPDATE emails SET matched = TRUE WHERE id = NEW.email_id AND NOT matched; \
     ELSE UPDATE emails SET matched = EXISTS (SELECT 1 FROM email_investor_links l \
     WHERE l.email_id = OLD.email_id) WHERE id = OLD.email_id; END IF; \
     RETURN NULL; END $$",
    "CREATE TRIGGER tr_links_matched AFTER INSERT OR DELETE ON email_investor_links \
     FOR EACH ROW EXECUTE FUNCTION mailroom_links_matched()",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS tr_emails_fts_delete",
    "DROP TRIGGER IF EXISTS tr_emails_fts_update",
    "DROP TRIGGER IF EXISTS tr_links_delete",
    "DROP TRIGGER IF EXISTS tr_links_insert",
    "DROP TRIGGER IF EXISTS tr_sightings_delete",
    "DROP TRIGGER IF EXISTS tr_sightings_deleted_at",
    "DROP TRIGGER IF EXISTS tr_sightings_insert",
    "DROP TRIGGER IF EXISTS tr_email_accounts_outbound_delete",
    "DROP TRIGGER IF EXISTS tr_email_accounts_outbound_update",
    "DROP TRIGGER IF EXISTS tr_email_accounts_outbound_insert",
    "DROP TRIGGER IF EXISTS tr_emails_outbound_insert",
    "DROP TABLE IF EXISTS emails_fts",
    "DROP INDEX IF EXISTS ix_email_investor_links_investor_sent_at",
    "DROP INDEX IF EXISTS ix_email_account_messages_live_account_sent_at",
    "DROP INDEX IF EXISTS ix_emails_visible_outbound_sent_at",
    "DROP INDEX IF EXISTS ix_emails_visible_sent_at",
    "ALTER TABLE email_investor_links DROP COLUMN sent_at",
    "ALTER TABLE email_account_messages DROP COLUMN sent_at",
    "ALTER TABLE emails DROP COLUMN live_sightings",
    "ALTER TABLE emails DROP COLUMN matched",
    "ALTER TABLE emails DROP COLUMN outbound",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS tr_links_matched ON email_investor_links",
    "DROP TRIGGER IF EXISTS tr_sightings_live ON email_account_messages",
    "DROP TRIGGER IF EXISTS tr_links_sent_at ON email_investor_links",
    "DROP TRIGGER IF EXISTS tr_sightings_sent_at ON email_account_messages",
    "DROP TRIGGER IF EXISTS tr_email_accounts_outbound ON email_accounts",
    "DROP TRIGGER IF EXISTS tr_emails_derive ON emails",
    "DROP FUNCTION IF EXISTS mailroom_links_matched()",
    "DROP FUNCTION IF EXISTS mailroom_sightings_live()",
    "DROP FUNCTION IF EXISTS mailroom_copy_sent_at()",
    "DROP FUNCTION IF EXISTS mailroom_accounts_outbound()",
    "DROP FUNCTION IF EXISTS mailroom_emails_derive()",
    "DROP INDEX IF EXISTS ix_emails_search_vector",
    "ALTER TABLE emails DROP COLUMN IF EXISTS search_vector",
    "DROP FUNCTION IF EXISTS mailroom_search_query(text)",
    "DROP FUNCTION IF EXISTS mailroom_search_vector(text, text, text, text)",
    "DROP FUNCTION IF EXISTS mailroom_search_text(text)",
    "DROP INDEX IF EXISTS ix_email_investor_links_investor_sent_at",
    "DROP INDEX IF EXISTS ix_email_account_messages_live_account_sent_at",
    "DROP INDEX IF EXISTS ix_emails_visible_outbound_sent_at",
    "DROP INDEX IF EXISTS ix_emails_visible_sent_at",
    "ALTER TABLE email_investor_links DROP COLUMN IF EXISTS sent_at",
    "ALTER TABLE email_account_messages DROP COLUMN IF EXISTS sent_at",
    "ALTER TABLE emails DROP COLUMN IF EXISTS live_sightings",
    "ALTER TABLE emails DROP COLUMN IF EXISTS matched",
    "ALTER TABLE emails DROP COLUMN IF EXISTS outbound",
];
