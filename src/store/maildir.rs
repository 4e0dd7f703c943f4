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

use super::{MessageKey, MessageStore, StateBlob, StoreError};
use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};
use std::vec::Vec;
use std::{format, vec};

const STATE_FILE: &str = ".embedded-mail-state";

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
        let io = |e: std::io::Error| StoreError::Io(e.kind());
        let tmp = self
            .root
            .join("tmp")
            .join(format!("{STATE_FILE}.{}", std::process::id()));
        let mut f = File::create(&tmp).map_err(io)?;
        f.write_all(buf.get(..n).unwrap_or(&[])).map_err(io)?;
        f.sync_all().map_err(io)?;
        drop(f);
        fs::rename(&tmp, self.root.join(STATE_FILE)).map_err(io)?;
        Self::fsync_dir(&self.root).map_err(io)
    }

    fn load_state(&mut self, state: &mut dyn StateBlob) -> Result<bool, StoreError<Self::Error>> {
        match fs::read(self.root.join(STATE_FILE)) {
            Ok(bytes) => Ok(state.decode(&bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(StoreError::Io(e.kind())),
        }
    }
}
