//! Identifiers and commitments of conversation logs.

use kith_crypto::hash::blake2b_256;
use kith_wire::{AccountId, BodyHash, ConversationId, EntryHash, SignedHeader, domain, encode};

use crate::error::Result;

/// The self conversation of `account` (its devices only).
pub fn self_conversation(account: &AccountId) -> Result<ConversationId> {
    Ok(ConversationId(blake2b_256(
        domain::CONVERSATION,
        &[b"self", account.as_bytes()],
    )?))
}

/// The direct conversation of two accounts (the same from either side).
pub fn direct_conversation(a: &AccountId, b: &AccountId) -> Result<ConversationId> {
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    Ok(ConversationId(blake2b_256(
        domain::CONVERSATION,
        &[b"direct", low.as_bytes(), high.as_bytes()],
    )?))
}

/// The id of a signed entry header.
pub fn entry_id(header: &SignedHeader) -> Result<EntryHash> {
    Ok(EntryHash(blake2b_256(
        domain::LOG_ENTRY_HASH,
        &[&encode(header)?],
    )?))
}

/// The commitment to a body.
pub fn body_hash(salt: &[u8; 32], content: &[u8]) -> Result<BodyHash> {
    Ok(BodyHash(blake2b_256(domain::BODY, &[salt, content])?))
}
