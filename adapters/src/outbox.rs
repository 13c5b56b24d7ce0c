//! The digest written as .eml files to a folder: the zero-config transport.

use std::io;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use mailroom_ports::{
    AdminRecipients, EmailAddress, MailTransport, OutgoingMail, SendError, TransportKind,
};
use tracing::instrument;

use crate::mail_format::render;

/// "Sends" by writing each message as an RFC 822 `.eml` file into a folder,
/// for trying mailroom out without any mail server.
#[derive(Debug, Clone)]
pub struct OutboxTransport {
    dir: PathBuf,
    from: EmailAddress,
}

impl OutboxTransport {
    /// The folder is created on the first send, not here, so a missing or
    /// unwritable folder shows up as a send error the scheduler records.
    pub fn new(dir: PathBuf, from: EmailAddress) -> Self {
        Self { dir, from }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[async_trait]
impl MailTransport for OutboxTransport {
    #[instrument(skip_all, fields(transport = "outbox", dir = %self.dir.display(), recipients = to.len()))]
    async fn send(
        &self,
        to: &AdminRecipients,
        mail: &OutgoingMail,
    ) -> Result<TransportKind, SendError> {
        let message = render(&self.from, to, mail)?;
        let path = write_eml(&self.dir, &message.formatted())
            .await
            .map_err(|e| io_error(&self.dir, &e))?;
        tracing::info!(path = %path.display(), "mail written to the outbox");
        Ok(TransportKind::Outbox)
    }
}

/// Writes under a temporary name, then renames, so whoever watches the
/// folder never opens half a message.
async fn write_eml(dir: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
    tokio::fs::create_dir_all(dir).await?;
    let name = format!("{:032x}", rand::random::<u128>());
    let partial = dir.join(format!(".{name}.partial"));
    let path = dir.join(format!("{name}.eml"));
    tokio::fs::write(&partial, bytes).await?;
    if let Err(e) = tokio::fs::rename(&partial, &path).await {
        let _ = tokio::fs::remove_file(&partial).await;
        return Err(e);
    }
    Ok(path)
}

fn io_error(dir: &Path, error: &io::Error) -> SendError {
    let detail = format!("failed to write to the outbox {}: {error}", dir.display());
    match error.kind() {
        io::ErrorKind::PermissionDenied
        | io::ErrorKind::ReadOnlyFilesystem
        | io::ErrorKind::NotADirectory => SendError::Rejected(detail),
        _ => SendError::Unavailable(detail),
    }
}
