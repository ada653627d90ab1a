//! Search across all conversations, on this device only: the query never
//! leaves it. Matching ignores case (Unicode lowercase), so it works for
//! any script.

use crate::error::{CoreError, Result};
use crate::inbox::{shown, text_of};
use crate::node::Node;
use crate::views::SearchHit;

/// At most this many results.
pub const MAX_SEARCH_HITS: usize = 200;

impl Node {
    /// The messages whose text contains `query` (ignoring case), newest
    /// first, at most `limit` (capped at [`MAX_SEARCH_HITS`]).
    pub async fn search(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>> {
        let needle = query.trim().to_lowercase();
        if needle.is_empty() {
            return Err(CoreError::new("invalid_input", "the search is empty"));
        }
        let limit = limit.min(MAX_SEARCH_HITS);
        let contacts = self.contact_infos(None).await;
        Ok(self
            .with(|r| {
                let me = r.account_id();
                let mut hits = Vec::new();
                for info in &contacts {
                    let Ok(id) = kith_sync::ids::direct_conversation(&me, &info.account) else {
                        continue;
                    };
                    let Some(conv) = r.conversation(&id) else {
                        continue;
                    };
                    let newest_first = conv.in_order().rev().filter(|e| shown(e));
                    for (from_end, entry) in newest_first.enumerate() {
                        let Some(text) = text_of(entry) else { continue };
                        if !text.to_lowercase().contains(&needle) {
                            continue;
                        }
                        hits.push(SearchHit {
                            conversation_id: id.to_hex(),
                            contact_id: Some(info.account.to_hex()),
                            message_id: entry.id.to_hex(),
                            mine: entry.header.author_account == me,
                            text: text.to_owned(),
                            sent_at: entry.header.sent_at_ms,
                            from_end: u32::try_from(from_end).unwrap_or(u32::MAX),
                        });
                    }
                }
                hits.sort_by_key(|h| std::cmp::Reverse(h.sent_at));
                hits.truncate(limit);
                hits
            })
            .await)
    }
}
