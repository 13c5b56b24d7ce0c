//! Proposals on matched mail and the human decision that turns one into an
//! activity exactly once (R-CAP-7, R-HARD-3).

use std::collections::HashMap;

use jiff::Timestamp;
use sea_orm::{ConnectionTrait, DatabaseConnection, QueryResult};

use mailroom_ports::reads::{Keyset, Page, ProposalQuery};
use mailroom_ports::records::{Decision, Direction, Proposal, ProposalStatus};
use mailroom_ports::{ActivityId, ContactId, EmailId, InvestorId, ProposalId, StoreError, UserId};

use super::activity::OUTBOUND_SQL;
use super::paging::{after_clause, effective_limit, empty, finish, order_and_limit};
use super::sql::{self, Params, Row, commit, exec, one, write_txn};

fn proposal_select() -> String {
    format!(
        "SELECT p.id, p.email_id, p.investor_id, \
         CASE WHEN i.deleted_at IS NULL THEN i.name END AS investor_name, p.contact_id, \
         e.subject, e.from_email, e.sent_at, {OUTBOUND_SQL} AS outbound, p.status, \
         p.decided_by, u.email AS decided_by_email, p.decided_at, p.activity_id \
         FROM activity_proposals p JOIN emails e ON e.id = p.email_id \
         JOIN investors i ON i.id = p.investor_id \
         LEFT JOIN users u ON u.id = p.decided_by"
    )
}

pub(crate) async fn list_proposals(
    db: &DatabaseConnection,
    status: Option<ProposalStatus>,
    visible_to: Option<UserId>,
) -> Result<Vec<Proposal>, StoreError> {
    let mut p = Params::default();
    let filter = filters(&mut p, status, visible_to);
    let rows = sql::all(
        db,
        &format!(
            "{} WHERE 1 = 1{filter} ORDER BY e.sent_at DESC, e.id DESC, p.id",
            proposal_select()
        ),
        p.values,
    )
    .await?;
    let mut proposals = rows
        .iter()
        .map(proposal_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    attach_owners(db, &mut proposals).await?;
    Ok(proposals)
}

pub(crate) async fn proposal_page(
    db: &DatabaseConnection,
    query: ProposalQuery,
) -> Result<Page<Proposal>, StoreError> {
    let Some(limit) = effective_limit(query.page) else {
        return Ok(empty());
    };
    let mut p = Params::default();
    let filter = filters(&mut p, query.status, query.visible_to);
    let after = after_clause(&mut p, "e.sent_at", "p.id", query.page.after);
    let order = order_and_limit(&mut p, "e.sent_at", "p.id", limit);
    let rows = sql::all(
        db,
        &format!("{} WHERE 1 = 1{filter}{after}{order}", proposal_select()),
        p.values,
    )
    .await?;
    let proposals = rows
        .iter()
        .map(proposal_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let mut page = finish(proposals, limit, |p| Keyset {
        at: p.sent_at,
        id: p.id.0,
    });
    attach_owners(db, &mut page.items).await?;
    Ok(page)
}

/// ` AND …` for the status and visibility filters of both lists.
fn filters(p: &mut Params, status: Option<ProposalStatus>, visible_to: Option<UserId>) -> String {
    let mut filter = String::new();
    if let Some(status) = status {
        filter.push_str(&format!(" AND p.status = {}", p.bind(status.as_str())));
    }
    if let Some(user) = visible_to {
        filter.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM email_account_messages s JOIN email_accounts a \
             ON a.id = s.account_id WHERE s.email_id = p.email_id AND s.deleted_at IS NULL \
             AND a.user_id = {})",
            p.bind(user.0)
        ));
    }
    filter
}

pub(crate) async fn get_proposal<C: ConnectionTrait>(
    conn: &C,
    id: ProposalId,
) -> Result<Proposal, StoreError> {
    let row = one(
        conn,
        &format!("{} WHERE p.id = $1", proposal_select()),
        vec![id.0.into()],
    )
    .await?
    .ok_or_else(|| not_found(id))?;
    let mut proposals = vec![proposal_from_row(&row)?];
    attach_owners(conn, &mut proposals).await?;
    Ok(proposals.remove(0))
}

pub(crate) async fn apply_decision(
    db: &DatabaseConnection,
    id: ProposalId,
    decision: Decision,
    by: UserId,
    at: Timestamp,
) -> Result<Option<ActivityId>, StoreError> {
    let status = match decision {
        Decision::Approve => ProposalStatus::Approved,
        Decision::Reject => ProposalStatus::Rejected,
    };
    let txn = write_txn(db).await?;
    // Compare-and-set on 'pending': of two concurrent decisions, the second
    // waits on the row and then matches nothing.
    let moved = exec(
        &txn,
        "UPDATE activity_proposals SET status = $2, decided_by = $3, decided_at = $4 \
         WHERE id = $1 AND status = 'pending'",
        vec![
            id.0.into(),
            status.as_str().into(),
            by.0.into(),
            sql::ts(at),
        ],
    )
    .await?;
    if moved == 0 {
        return match one(
            &txn,
            "SELECT status FROM activity_proposals WHERE id = $1",
            vec![id.0.into()],
        )
        .await?
        {
            None => Err(not_found(id)),
            Some(row) => Err(StoreError::Conflict(format!(
                "proposal {id} is already {}",
                row.col::<String>("status")?
            ))),
        };
    }
    let activity = match decision {
        Decision::Reject => None,
        Decision::Approve => {
            let row = one(
                &txn,
                "INSERT INTO activities (proposal_id, email_id, investor_id, contact_id, created_by, \
                 created_at) SELECT id, email_id, investor_id, contact_id, $2, $3 \
                 FROM activity_proposals WHERE id = $1 RETURNING id",
                vec![id.0.into(), by.0.into(), sql::ts(at)],
            )
            .await?
            .ok_or_else(|| sql::unexpected("activity insert returned no id".to_string()))?;
            let activity_id: i64 = row.col("id")?;
            exec(
                &txn,
                "UPDATE activity_proposals SET activity_id = $2 WHERE id = $1",
                vec![id.0.into(), activity_id.into()],
            )
            .await?;
            Some(ActivityId(activity_id))
        }
    };
    commit(txn).await?;
    Ok(activity)
}

/// Fills `owner_user_ids`: users with a live sighting of each email.
async fn attach_owners<C: ConnectionTrait>(
    conn: &C,
    proposals: &mut [Proposal],
) -> Result<(), StoreError> {
    if proposals.is_empty() {
        return Ok(());
    }
    let mut email_ids: Vec<i64> = proposals.iter().map(|p| p.email_id.0).collect();
    email_ids.sort_unstable();
    email_ids.dedup();
    let mut owners: HashMap<i64, Vec<UserId>> = HashMap::new();
    // Chunked so a long pending list stays within parameter limits.
    for chunk in email_ids.chunks(500) {
        let mut p = Params::default();
        let list = p.bind_all(chunk.iter().copied());
        let rows = sql::all(
            conn,
            &format!(
                "SELECT DISTINCT s.email_id, a.user_id FROM email_account_messages s \
                 JOIN email_accounts a ON a.id = s.account_id \
                 WHERE s.deleted_at IS NULL AND s.email_id IN ({list}) ORDER BY s.email_id, a.user_id"
            ),
            p.values,
        )
        .await?;
        for row in rows {
            owners
                .entry(row.col("email_id")?)
                .or_default()
                .push(UserId(row.col("user_id")?));
        }
    }
    for proposal in proposals {
        proposal.owner_user_ids = owners
            .get(&proposal.email_id.0)
            .cloned()
            .unwrap_or_default();
    }
    Ok(())
}

fn proposal_from_row(row: &QueryResult) -> Result<Proposal, StoreError> {
    Ok(Proposal {
        id: ProposalId(row.col("id")?),
        email_id: EmailId(row.col("email_id")?),
        investor_id: InvestorId(row.col("investor_id")?),
        investor_name: row.col("investor_name")?,
        contact_id: row.col::<Option<i64>>("contact_id")?.map(ContactId),
        subject: row.col("subject")?,
        from_email: row.opt_addr("from_email")?,
        sent_at: row.ts("sent_at")?,
        direction: if row.flag("outbound")? {
            Direction::Outbound
        } else {
            Direction::Inbound
        },
        status: parse_status(&row.col::<String>("status")?)?,
        decided_by: row.col::<Option<i64>>("decided_by")?.map(UserId),
        decided_by_email: row.opt_addr("decided_by_email")?,
        decided_at: row.opt_ts("decided_at")?,
        activity_id: row.col::<Option<i64>>("activity_id")?.map(ActivityId),
        owner_user_ids: Vec::new(),
    })
}

fn parse_status(raw: &str) -> Result<ProposalStatus, StoreError> {
    match raw {
        "pending" => Ok(ProposalStatus::Pending),
        "approved" => Ok(ProposalStatus::Approved),
        "rejected" => Ok(ProposalStatus::Rejected),
        other => Err(sql::unexpected(format!(
            "stored proposal status `{other}` is unknown"
        ))),
    }
}

fn not_found(id: ProposalId) -> StoreError {
    StoreError::NotFound(format!("proposal {id}"))
}
