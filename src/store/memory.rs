//! A fixed-capacity message store in RAM: for tests, and for firmware that
//! hands each message on before the next poll.
//!
//! `BYTES` is the room for message bytes, `MSGS` the number of messages,
//! `STATE` the room for the sync-state blob. Nothing survives a reset, so
//! "durable" means "in this RAM"; the commit order the poll relies on
//! still holds.

use super::{MessageKey, MessageStore, StateBlob, StoreError};
use core::convert::Infallible;

/// One stored message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Entry {
    key: MessageKey,
    start: usize,
    len: usize,
}

/// The in-RAM store. See the [module docs](self).
#[derive(Debug)]
pub struct MemoryStore<const BYTES: usize, const MSGS: usize, const STATE: usize = 1024> {
    data: [u8; BYTES],
    used: usize,
    index: [Entry; MSGS],
    count: usize,
    open: Option<Entry>,
    state: [u8; STATE],
    state_len: Option<usize>,
}

impl<const BYTES: usize, const MSGS: usize, const STATE: usize> Default
    for MemoryStore<BYTES, MSGS, STATE>
{
    fn default() -> Self {
        Self::new()
    }
}

impl<const BYTES: usize, const MSGS: usize, const STATE: usize> MemoryStore<BYTES, MSGS, STATE> {
    /// An empty store.
    pub const fn new() -> Self {
        MemoryStore {
            data: [0; BYTES],
            used: 0,
            index: [Entry {
                key: 0,
                start: 0,
                len: 0,
            }; MSGS],
            count: 0,
            open: None,
            state: [0; STATE],
            state_len: None,
        }
    }

    /// Number of committed messages.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when no message is stored.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The committed messages, oldest first: `(key, bytes)`.
    pub fn messages(&self) -> impl Iterator<Item = (MessageKey, &[u8])> + '_ {
        self.index.iter().take(self.count).map(|e| {
            (
                e.key,
                self.data.get(e.start..e.start + e.len).unwrap_or(&[]),
            )
        })
    }

    /// Removes the message with `key` (the firmware has handed it on);
    /// false if there is none.
    pub fn remove(&mut self, key: MessageKey) -> bool {
        let Some(i) = self
            .index
            .iter()
            .take(self.count)
            .position(|e| e.key == key)
        else {
            return false;
        };
        let Some(e) = self.index.get(i).copied() else {
            return false;
        };
        self.data.copy_within(e.start + e.len..self.used, e.start);
        self.used -= e.len;
        self.index.copy_within(i + 1..self.count, i);
        self.count -= 1;
        for later in self.index.iter_mut().take(self.count).skip(i) {
            later.start -= e.len;
        }
        true
    }

    /// Drops the saved sync state (as if never saved).
    pub fn forget_state(&mut self) {
        self.state_len = None;
    }

    fn free_bytes(&self) -> u64 {
        (BYTES - self.used) as u64
    }
}

impl<const BYTES: usize, const MSGS: usize, const STATE: usize> MessageStore
    for MemoryStore<BYTES, MSGS, STATE>
{
    type Error = Infallible;

    fn begin(&mut self, key: MessageKey, size_hint: u64) -> Result<(), StoreError<Infallible>> {
        if self.open.is_some() {
            return Err(StoreError::WrongState);
        }
        if self.count >= MSGS || size_hint > self.free_bytes() {
            return Err(StoreError::Full {
                needed: size_hint,
                free: if self.count >= MSGS {
                    0
                } else {
                    self.free_bytes()
                },
            });
        }
        self.open = Some(Entry {
            key,
            start: self.used,
            len: 0,
        });
        Ok(())
    }

    fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError<Infallible>> {
        let Some(open) = self.open.as_mut() else {
            return Err(StoreError::WrongState);
        };
        let at = open.start + open.len;
        let Some(dst) = self.data.get_mut(at..at + chunk.len()) else {
            return Err(StoreError::Full {
                needed: (open.len + chunk.len()) as u64,
                free: (BYTES - open.start) as u64,
            });
        };
        dst.copy_from_slice(chunk);
        open.len += chunk.len();
        Ok(())
    }

    fn commit(&mut self) -> Result<(), StoreError<Infallible>> {
        let open = self.open.take().ok_or(StoreError::WrongState)?;
        let slot = self.index.get_mut(self.count).ok_or(StoreError::Full {
            needed: open.len as u64,
            free: 0,
        })?;
        *slot = open;
        self.count += 1;
        self.used = open.start + open.len;
        Ok(())
    }

    fn abort(&mut self) -> Result<(), StoreError<Infallible>> {
        self.open = None;
        Ok(())
    }

    fn contains(&mut self, key: MessageKey) -> Result<bool, StoreError<Infallible>> {
        Ok(self.index.iter().take(self.count).any(|e| e.key == key))
    }

    fn capacity(&self) -> u64 {
        BYTES as u64
    }

    fn free(&mut self) -> Result<u64, StoreError<Infallible>> {
        Ok(self.free_bytes())
    }

    fn save_state(&mut self, state: &dyn StateBlob) -> Result<(), StoreError<Infallible>> {
        let n = state
            .encode(&mut self.state)
            .ok_or(StoreError::StateTooLarge)?;
        self.state_len = Some(n);
        Ok(())
    }

    fn load_state(&mut self, state: &mut dyn StateBlob) -> Result<bool, StoreError<Infallible>> {
        match self.state_len {
            Some(n) => Ok(state.decode(self.state.get(..n).unwrap_or(&[]))),
            None => Ok(false),
        }
    }
}

#[cfg(feature = "async")]
impl<const BYTES: usize, const MSGS: usize, const STATE: usize> super::asynch::MessageStore
    for MemoryStore<BYTES, MSGS, STATE>
{
    type Error = Infallible;
    async fn begin(
        &mut self,
        key: MessageKey,
        size_hint: u64,
    ) -> Result<(), StoreError<Infallible>> {
        MessageStore::begin(self, key, size_hint)
    }
    async fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError<Infallible>> {
        MessageStore::write(self, chunk)
    }
    async fn commit(&mut self) -> Result<(), StoreError<Infallible>> {
        MessageStore::commit(self)
    }
    async fn abort(&mut self) -> Result<(), StoreError<Infallible>> {
        MessageStore::abort(self)
    }
    async fn contains(&mut self, key: MessageKey) -> Result<bool, StoreError<Infallible>> {
        MessageStore::contains(self, key)
    }
    fn capacity(&self) -> u64 {
        BYTES as u64
    }
    async fn free(&mut self) -> Result<u64, StoreError<Infallible>> {
        MessageStore::free(self)
    }
    async fn save_state(&mut self, state: &dyn StateBlob) -> Result<(), StoreError<Infallible>> {
        MessageStore::save_state(self, state)
    }
    async fn load_state(
        &mut self,
        state: &mut dyn StateBlob,
    ) -> Result<bool, StoreError<Infallible>> {
        MessageStore::load_state(self, state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_abort_remove() {
        let mut s: MemoryStore<64, 4, 16> = MemoryStore::new();
        s.begin(1, 3).unwrap();
        s.write(b"abc").unwrap();
        s.commit().unwrap();
        s.begin(2, 2).unwrap();
        s.write(b"zz").unwrap();
        s.abort().unwrap();
        s.begin(3, 2).unwrap();
        s.write(b"de").unwrap();
        s.commit().unwrap();
        assert!(s.contains(1).unwrap() && !s.contains(2).unwrap() && s.contains(3).unwrap());
        assert!(s.remove(1));
        let all: heapless::Vec<(u64, heapless::Vec<u8, 8>), 4> = s
            .messages()
            .map(|(k, b)| (k, heapless::Vec::from_slice(b).unwrap()))
            .collect();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].1.as_slice(), b"de");
        assert!(matches!(s.begin(4, 100), Err(StoreError::Full { .. })));
    }
}
