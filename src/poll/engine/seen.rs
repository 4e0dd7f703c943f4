//! The POP3 seen set as the engine sees it: the store's own
//! ([`crate::store::MessageStore::keeps_seen`]) when it keeps one, else the
//! RAM set of [`SyncState`]. Only dispatch: no decisions live here.

use super::io::StoreIo;
use crate::poll::{PollError, Seen, SyncState};
use crate::store::{MessageKey, SeenQuery};

/// A listing starts.
pub(crate) async fn begin<S: StoreIo, E, const N: usize>(
    store: &mut S,
    state: &mut SyncState<N>,
) -> Result<(), PollError<E, S::Error>> {
    if store.keeps_seen() {
        store.seen_begin().await?;
    } else {
        state.begin_listing();
    }
    Ok(())
}

/// Looks up (and marks present) every query's key.
pub(crate) async fn find<S: StoreIo, E, const N: usize>(
    store: &mut S,
    state: &mut SyncState<N>,
    queries: &mut [SeenQuery],
) -> Result<(), PollError<E, S::Error>> {
    if store.keeps_seen() {
        store.seen_find(queries).await?;
    } else {
        for q in queries.iter_mut() {
            if let Some(s) = state.mark(q.key) {
                q.found = true;
                q.stored_at = s.stored_at;
                q.headers_only = s.headers_only;
            }
        }
    }
    Ok(())
}

/// [`find`] without waiting: `None` when the store keeps the seen set
/// and may wait (an async store).
pub(crate) fn find_now<S: StoreIo, const N: usize>(
    store: &mut S,
    state: &mut SyncState<N>,
    queries: &mut [SeenQuery],
) -> Option<Result<(), crate::store::StoreError<S::Error>>> {
    if store.keeps_seen() {
        return store.seen_find_now(queries);
    }
    for q in queries.iter_mut() {
        if let Some(s) = state.mark(q.key) {
            q.found = true;
            q.stored_at = s.stored_at;
            q.headers_only = s.headers_only;
        }
    }
    Some(Ok(()))
}

/// Remembers a stored message. The RAM set refuses when full
/// ([`PollError::SeenSetFull`]); a store's when its room is used up.
pub(crate) async fn insert<S: StoreIo, E, const N: usize>(
    store: &mut S,
    state: &mut SyncState<N>,
    key: MessageKey,
    at: u32,
    headers_only: bool,
) -> Result<(), PollError<E, S::Error>> {
    if store.keeps_seen() {
        store.seen_insert(key, at, headers_only).await?;
        Ok(())
    } else {
        state
            .insert(key, at, headers_only)
            .map_err(|_| PollError::SeenSetFull { capacity: N })
    }
}

/// The listing was complete: forgets what it did not find. Returns how
/// many were forgotten (the RAM set's change is saved with the state).
pub(crate) async fn prune<S: StoreIo, E, const N: usize>(
    store: &mut S,
    state: &mut SyncState<N>,
) -> Result<u64, PollError<E, S::Error>> {
    if store.keeps_seen() {
        Ok(store.seen_prune().await?)
    } else {
        Ok(state.prune_unmarked() as u64)
    }
}

/// True when nothing is remembered.
pub(crate) async fn is_empty<S: StoreIo, E, const N: usize>(
    store: &mut S,
    state: &SyncState<N>,
) -> Result<bool, PollError<E, S::Error>> {
    if store.keeps_seen() {
        Ok(store.seen_len().await? == 0)
    } else {
        Ok(state.seen().is_empty())
    }
}

/// A store that keeps the seen set takes over what an older RAM state
/// remembered (a state saved before the store kept one); the RAM copy is
/// dropped once the store has it.
pub(crate) async fn adopt<S: StoreIo, E, const N: usize>(
    store: &mut S,
    state: &mut SyncState<N>,
) -> Result<(), PollError<E, S::Error>> {
    if !store.keeps_seen() || state.seen().is_empty() {
        return Ok(());
    }
    for i in 0..state.seen().len() {
        if let Some(s) = state.seen().get(i).copied() {
            store
                .seen_insert(s.key, s.stored_at, s.headers_only)
                .await?;
        }
    }
    state.clear_seen();
    // The store's inserts are durable with the save, the RAM set's
    // entries dropped in the same step.
    store.save_state(state).await?;
    Ok(())
}

/// A query's answer as a seen-set entry, if found.
pub(crate) fn entry(q: &SeenQuery) -> Option<Seen> {
    q.found.then_some(Seen {
        key: q.key,
        stored_at: q.stored_at,
        headers_only: q.headers_only,
    })
}
