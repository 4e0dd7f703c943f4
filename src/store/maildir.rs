//! A Maildir store for hosts (feature `std`).
//!
//! A message is written to `tmp/`, fsynced and renamed into `new/` by
//! `commit`. The renames are made durable by one sync of the directories,
//! which [`MessageStore::save_state`] does before it writes the state (the
//! poll saves the state once per batch, after the batch's commits and
//! before any deletion on the server), or [`MaildirStore::sync`]: a power
//! cut before it may lose a renamed message locally, but the server still
//! has it then, and the next poll fetches it again. The file name starts
//! with the message key in hex (`<key>.<time>.<seq>.embedded-mail`), so a
//! rescan after a reboot knows what is stored; files moved to `cur/` by a
//! mail reader still count. [`MessageStore::contains`] answers from an
//! index of those keys, read from the directories once (O(1) per call
//! after that). The sync state is the file `.embedded-mail-state`,
//! replaced atomically.
//!
//! The store keeps the POP3 seen set itself
//! ([`MessageStore::keeps_seen`]), in the file `.embedded-mail-seen`: 13
//! bytes per remembered message (key, time stored, headers-only flag)
//! plus a checksum, read once, held in a hash map, and replaced
//! atomically (write, fsync, rename, directory fsync) by
//! [`MessageStore::save_state`] when it changed and by
//! [`MessageStore::seen_prune`]. A damaged file is an error
//! ([`std::io::ErrorKind::InvalidData`]), never a silent restart that
//! would fetch every message again.

use super::{Fnv, MessageKey, MessageStore, SeenQuery, StateBlob, StoreError};
use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};
use std::vec::Vec;
use std::{format, vec};

const STATE_FILE: &str = ".embedded-mail-state";
const SEEN_FILE: &str = ".embedded-mail-seen";
const SEEN_MAGIC: &[u8; 4] = b"EMS\x01";

/// One remembered message of the seen set.
#[derive(Debug, Clone, Copy)]
struct Remembered {
    stored_at: u32,
    headers_only: bool,
    /// Found (or inserted) since the listing began.
    marked: bool,
}

/// The seen set as held in RAM.
#[derive(Debug, Default)]
struct SeenFile {
    map: HashMap<MessageKey, Remembered>,
    dirty: bool,
}

/// A Maildir on the host file system.
#[derive(Debug)]
pub struct MaildirStore {
    root: PathBuf,
    open: Option<(MessageKey, PathBuf, BufWriter<File>)>,
    seq: u64,
    /// Keys of the committed messages, read on first use.
    index: Option<HashSet<MessageKey>>,
    /// Renames not yet made durable by a directory sync.
    unsynced: bool,
    /// The seen set, read on first use.
    seen: Option<SeenFile>,
}

impl MaildirStore {
    /// Opens (creating if needed) the Maildir at `root`; leftovers in
    /// `tmp/` (messages cut before their commit) are removed.
    pub fn open(root: impl AsRef<Path>) -> std::io::Result<Self> {
        let root = root.as_ref().to_path_buf();
        for sub in ["tmp", "new", "cur"] {
            fs::create_dir_all(root.join(sub))?;
        }
        for entry in fs::read_dir(root.join("tmp"))? {
            let entry = entry?;
            if entry
                .file_name()
                .to_string_lossy()
                .ends_with(".embedded-mail")
            {
                fs::remove_file(entry.path())?;
            }
        }
        Ok(MaildirStore {
            root,
            open: None,
            seq: 0,
            index: None,
            unsynced: false,
            seen: None,
        })
    }

    /// Makes every commit so far durable (syncs `new/` and `tmp/`);
    /// [`MessageStore::save_state`] does it too.
    pub fn sync(&mut self) -> std::io::Result<()> {
        if self.unsynced {
            Self::fsync_dir(&self.root.join("new"))?;
            Self::fsync_dir(&self.root.join("tmp"))?;
            self.unsynced = false;
        }
        Ok(())
    }

    /// The Maildir's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every committed message: `(key, path)`, in `new/` then `cur/`.
    pub fn messages(&self) -> std::io::Result<Vec<(MessageKey, PathBuf)>> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            let mut names: Vec<_> = fs::read_dir(self.root.join(sub))?
                .filter_map(|e| e.ok())
                .collect();
            names.sort_by_key(|e| e.file_name());
            for e in names {
                if let Some(key) = key_of_name(&e.file_name().to_string_lossy()) {
                    out.push((key, e.path()));
                }
            }
        }
        Ok(out)
    }

    fn fsync_dir(path: &Path) -> std::io::Result<()> {
        File::open(path)?.sync_all()
    }

    /// Writes `bytes` to the file `name` in the root, atomically: a
    /// temporary file in `tmp/`, fsync, rename, fsync of the root.
    fn replace_file(&self, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        let tmp = self
            .root
            .join("tmp")
            .join(format!("{name}.{}", std::process::id()));
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, self.root.join(name))?;
        Self::fsync_dir(&self.root)
    }

    /// The seen set, read from its file on first use.
    fn seen_file(&mut self) -> Result<&mut SeenFile, StoreError<std::io::ErrorKind>> {
        if self.seen.is_none() {
            let map = match fs::read(self.root.join(SEEN_FILE)) {
                Ok(bytes) => {
                    decode_seen(&bytes).ok_or(StoreError::Io(std::io::ErrorKind::InvalidData))?
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => HashMap::new(),
                Err(e) => return Err(StoreError::Io(e.kind())),
            };
            self.seen = Some(SeenFile { map, dirty: false });
        }
        self.seen
            .as_mut()
            .ok_or(StoreError::Io(std::io::ErrorKind::Other))
    }

    /// Writes the seen set if it changed.
    fn save_seen(&mut self) -> Result<(), StoreError<std::io::ErrorKind>> {
        let Some(seen) = self.seen.as_ref().filter(|s| s.dirty) else {
            return Ok(());
        };
        let mut keys: Vec<_> = seen.map.iter().collect();
        // A stable file for a stable set.
        keys.sort_by_key(|(k, _)| **k);
        let mut out = Vec::with_capacity(16 + 13 * keys.len());
        out.extend_from_slice(SEEN_MAGIC);
        out.extend_from_slice(&(keys.len() as u64).to_le_bytes());
        for (k, r) in keys {
            out.extend_from_slice(&k.to_le_bytes());
            out.extend_from_slice(&r.stored_at.to_le_bytes());
            out.push(u8::from(r.headers_only));
        }
        let mut h = Fnv::new();
        h.write(&out);
        out.extend_from_slice(&h.finish().to_le_bytes());
        self.replace_file(SEEN_FILE, &out)
            .map_err(|e| StoreError::Io(e.kind()))?;
        if let Some(s) = self.seen.as_mut() {
            s.dirty = false;
        }
        Ok(())
    }
}

/// The seen file's entries, or `None` if it is damaged.
fn decode_seen(bytes: &[u8]) -> Option<HashMap<MessageKey, Remembered>> {
    let body_len = bytes.len().checked_sub(8)?;
    let (body, sum) = bytes.split_at(body_len);
    let mut h = Fnv::new();
    h.write(body);
    if u64::from_le_bytes(sum.try_into().ok()?) != h.finish() || body.get(..4)? != SEEN_MAGIC {
        return None;
    }
    let n = u64::from_le_bytes(body.get(4..12)?.try_into().ok()?);
    let entries = body.get(12..)?;
    if entries.len() as u64 != n.checked_mul(13)? {
        return None;
    }
    let mut map = HashMap::with_capacity(n as usize);
    for e in entries.chunks_exact(13) {
        map.insert(
            u64::from_le_bytes(e.get(..8)?.try_into().ok()?),
            Remembered {
                stored_at: u32::from_le_bytes(e.get(8..12)?.try_into().ok()?),
                headers_only: e.get(12) == Some(&1),
                marked: false,
            },
        );
    }
    Some(map)
}

fn key_of_name(name: &str) -> Option<MessageKey> {
    let hex = name.split('.').next()?;
    if hex.len() != 16 {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

impl MessageStore for MaildirStore {
    type Error = std::io::ErrorKind;

    fn begin(&mut self, key: MessageKey, _size_hint: u64) -> Result<(), StoreError<Self::Error>> {
        if self.open.is_some() {
            return Err(StoreError::WrongState);
        }
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.seq += 1;
        let name = format!(
            "{key:016x}.{secs}.{}_{}.embedded-mail",
            std::process::id(),
            self.seq
        );
        let path = self.root.join("tmp").join(&name);
        let file = File::create(&path).map_err(|e| StoreError::Io(e.kind()))?;
        // Bodies arrive in receive-buffer pieces (often 1 KiB): one write
        // call per 64 KiB instead of one per piece.
        self.open = Some((key, path, BufWriter::with_capacity(64 << 10, file)));
        Ok(())
    }

    fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError<Self::Error>> {
        let (_, _, file) = self.open.as_mut().ok_or(StoreError::WrongState)?;
        file.write_all(chunk).map_err(|e| match e.kind() {
            std::io::ErrorKind::StorageFull => StoreError::Full {
                needed: chunk.len() as u64,
                free: 0,
            },
            k => StoreError::Io(k),
        })
    }

    fn commit(&mut self) -> Result<(), StoreError<Self::Error>> {
        let (key, tmp, file) = self.open.take().ok_or(StoreError::WrongState)?;
        let io = |e: std::io::Error| StoreError::Io(e.kind());
        let file = file.into_inner().map_err(|e| match e.error().kind() {
            std::io::ErrorKind::StorageFull => StoreError::Full { needed: 0, free: 0 },
            k => StoreError::Io(k),
        })?;
        file.sync_all().map_err(io)?;
        drop(file);
        let name = tmp
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        fs::rename(&tmp, self.root.join("new").join(name)).map_err(io)?;
        self.unsynced = true;
        if let Some(index) = self.index.as_mut() {
            index.insert(key);
        }
        Ok(())
    }

    fn abort(&mut self) -> Result<(), StoreError<Self::Error>> {
        if let Some((_, tmp, file)) = self.open.take() {
            drop(file);
            fs::remove_file(tmp).map_err(|e| StoreError::Io(e.kind()))?;
        }
        Ok(())
    }

    fn contains(&mut self, key: MessageKey) -> Result<bool, StoreError<Self::Error>> {
        if self.index.is_none() {
            let mut index = HashSet::new();
            for sub in ["new", "cur"] {
                let dir =
                    fs::read_dir(self.root.join(sub)).map_err(|e| StoreError::Io(e.kind()))?;
                for e in dir.flatten() {
                    if let Some(k) = key_of_name(&e.file_name().to_string_lossy()) {
                        index.insert(k);
                    }
                }
            }
            self.index = Some(index);
        }
        Ok(self.index.as_ref().is_some_and(|i| i.contains(&key)))
    }

    fn capacity(&self) -> u64 {
        u64::MAX
    }

    fn free(&mut self) -> Result<u64, StoreError<Self::Error>> {
        Ok(u64::MAX)
    }

    fn save_state(&mut self, state: &dyn StateBlob) -> Result<(), StoreError<Self::Error>> {
        // The batch's messages become durable before the state that says
        // they are stored.
        self.sync().map_err(|e| StoreError::Io(e.kind()))?;
        let mut buf = vec![0u8; 4096];
        let n = loop {
            match state.encode(&mut buf) {
                Some(n) => break n,
                None if buf.len() < (64 << 20) => buf.resize(buf.len() * 4, 0),
                None => return Err(StoreError::StateTooLarge),
            }
        };
        self.save_seen()?;
        self.replace_file(STATE_FILE, buf.get(..n).unwrap_or(&[]))
            .map_err(|e| StoreError::Io(e.kind()))
    }

    fn load_state(&mut self, state: &mut dyn StateBlob) -> Result<bool, StoreError<Self::Error>> {
        match fs::read(self.root.join(STATE_FILE)) {
            Ok(bytes) => Ok(state.decode(&bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(StoreError::Io(e.kind())),
        }
    }

    fn keeps_seen(&self) -> bool {
        true
    }

    fn seen_len(&mut self) -> Result<u64, StoreError<Self::Error>> {
        Ok(self.seen_file()?.map.len() as u64)
    }

    fn seen_begin(&mut self) -> Result<(), StoreError<Self::Error>> {
        for r in self.seen_file()?.map.values_mut() {
            r.marked = false;
        }
        Ok(())
    }

    fn seen_find(&mut self, queries: &mut [SeenQuery]) -> Result<(), StoreError<Self::Error>> {
        let seen = self.seen_file()?;
        for q in queries.iter_mut() {
            if let Some(r) = seen.map.get_mut(&q.key) {
                r.marked = true;
                q.found = true;
                q.stored_at = r.stored_at;
                q.headers_only = r.headers_only;
            }
        }
        Ok(())
    }

    fn seen_insert(
        &mut self,
        key: MessageKey,
        stored_at: u32,
        headers_only: bool,
    ) -> Result<(), StoreError<Self::Error>> {
        let seen = self.seen_file()?;
        seen.map.entry(key).or_insert(Remembered {
            stored_at,
            headers_only,
            marked: true,
        });
        seen.dirty = true;
        Ok(())
    }

    fn seen_prune(&mut self) -> Result<u64, StoreError<Self::Error>> {
        let seen = self.seen_file()?;
        let before = seen.map.len();
        seen.map.retain(|_, r| r.marked);
        let dropped = (before - seen.map.len()) as u64;
        if dropped > 0 {
            seen.dirty = true;
            // Inserts recorded in the same file must not get ahead of
            // the messages they name.
            self.sync().map_err(|e| StoreError::Io(e.kind()))?;
            self.save_seen()?;
        }
        Ok(dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("em-seen-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn seen_set_survives_reopen_prunes_and_refuses_a_damaged_file() {
        let d = dir("a");
        let mut s = MaildirStore::open(&d).unwrap();
        assert!(s.keeps_seen());
        // More than any RAM array a device would hold.
        for k in 1..=5000u64 {
            s.seen_insert(k, k as u32, k % 7 == 0).unwrap();
        }
        struct Nothing;
        impl StateBlob for Nothing {
            fn encode(&self, _: &mut [u8]) -> Option<usize> {
                Some(0)
            }
            fn decode(&mut self, _: &[u8]) -> bool {
                true
            }
        }
        s.save_state(&Nothing).unwrap();
        let mut s = MaildirStore::open(&d).unwrap();
        assert_eq!(s.seen_len().unwrap(), 5000);
        s.seen_begin().unwrap();
        let mut q = [SeenQuery::new(14), SeenQuery::new(15), SeenQuery::new(9999)];
        s.seen_find(&mut q).unwrap();
        assert!(q[0].found && q[0].headers_only && q[0].stored_at == 14);
        assert!(q[1].found && !q[1].headers_only);
        assert!(!q[2].found);
        s.seen_insert(9999, 1, false).unwrap();
        // Only what the listing found or inserted stays.
        assert_eq!(s.seen_prune().unwrap(), 4998);
        let mut s = MaildirStore::open(&d).unwrap();
        assert_eq!(s.seen_len().unwrap(), 3);
        let mut bytes = fs::read(d.join(SEEN_FILE)).unwrap();
        bytes[13] ^= 1;
        fs::write(d.join(SEEN_FILE), &bytes).unwrap();
        let mut s = MaildirStore::open(&d).unwrap();
        assert_eq!(
            s.seen_len(),
            Err(StoreError::Io(std::io::ErrorKind::InvalidData))
        );
        let _ = fs::remove_dir_all(&d);
    }
}
