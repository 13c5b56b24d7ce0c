// Where a draft mailroom created opens in Gmail's web UI: the mailbox's
// account, then the draft itself by its message's id (`#drafts?compose=`),
// or, without one, its thread.
export function gmailDraftUrl(mailbox: string, messageId: string | null | undefined, threadId: string | null | undefined): string {
  const account = `https://mail.google.com/mail/?authuser=${encodeURIComponent(mailbox)}`;
  if (messageId) return `${account}#drafts?compose=${encodeURIComponent(messageId)}`;
  if (threadId) return `${account}#all/${encodeURIComponent(threadId)}`;
  return `${account}#drafts`;
}
