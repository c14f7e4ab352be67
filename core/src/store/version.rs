//! The file's format version: a small table written when a cache is created and checked on
//! every open, so a file written under other digest or layout rules is refused with a clear
//! error instead of being read with the wrong ones.

use redb::{ReadableTable, TableDefinition, TableHandle};

use super::{CALLS, Store};
use crate::error::{Error, Result, Stream, notice};

/// The format this fleche writes. Version 1 (fleche 0.1.0 before checksums) had no version
/// table; version 2 changed the value digest (options, unit, floats by their bits), the
/// codec's `Some` mark, and added checksums to values and call records; version 3 stores tag
/// values with their types (integers, floats, booleans besides text) and records may carry
/// `resources` and collectors' `namespaces`, which a format-2 reader cannot decode; version 4
/// changed the value digest of byte arrays (runs of bytes hashed whole, see `digest`);
/// version 5 stores call records in a binary layout of their own (`record/layout.rs`)
/// instead of CBOR with field names; version 6 keeps the result digest in the record only
/// and stores 8-byte key prefixes in the indexes, with one index for name and module;
/// version 7 gives every call key its function's cluster as first byte
/// (`digest::call_cluster`), so one function's calls are stored together.
pub(crate) const FORMAT_VERSION: u64 = 7;

/// The oldest format this fleche reads. Formats 2 and 3 digest byte arrays byte by byte, so
/// their calls would never be found and their values would fail `verify`; format 4's records
/// are CBOR, which this fleche no longer reads; format 5's tables have other types (whole
/// keys in the indexes): they are refused, not read. A format-6 file is read as it is when
/// opened read-only (its calls are listed and queried, but not found by the keys a call
/// computes now) and rekeyed to format 7 when opened for writing: see
/// [`Store::upgrade_format`].
pub(crate) const OLDEST_READ: u64 = 6;

/// `"version"` -> the format version.
const FORMAT: TableDefinition<'_, &str, u64> = TableDefinition::new("fleche_format");
const VERSION_KEY: &str = "version";

/// What an open file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Holds {
    /// No fleche tables: a new or empty file, or another program's database.
    Nothing,
    /// A fleche cache of this format version.
    Version(u64),
}

impl Store {
    /// Which format the file holds, read from its table names and version table only (the
    /// other tables' types differ between versions, so they are not opened).
    pub(crate) fn format(&self) -> Result<Holds> {
        let names = |txn: &redb::ReadTransaction| -> Result<(bool, bool), redb::Error> {
            let mut format = false;
            let mut calls = false;
            for table in txn.list_tables()? {
                format |= table.name() == FORMAT.name();
                calls |= table.name() == CALLS.name();
            }
            Ok((format, calls))
        };
        self.read_now(|txn| {
            let (format, calls) = names(txn)?;
            if format {
                let version = txn.open_table(FORMAT)?.get(VERSION_KEY)?.map(|v| v.value());
                // A version table without a version is from no release: treat it as unknown.
                return Ok(Holds::Version(version.unwrap_or(0)));
            }
            // Format 1 had fleche's tables and no version table.
            Ok(if calls {
                Holds::Version(1)
            } else {
                Holds::Nothing
            })
        })
    }

    /// Fails unless the file holds a cache of a format this fleche reads.
    pub(crate) fn check_format(&self, holds: Holds) -> Result<()> {
        match holds {
            Holds::Version(OLDEST_READ..=FORMAT_VERSION) => Ok(()),
            Holds::Version(found) => Err(self.version_error(found)),
            Holds::Nothing => Err(super::not_fleche_tables(&self.location)),
        }
    }

    /// Brings a format-6 file to [`FORMAT_VERSION`] before this fleche writes to it: its call
    /// keys are rekeyed (`rekey.rs`) in the transaction that marks it, so a crash leaves it
    /// as it was. Read-only, it is read as it is, with a warning.
    pub(crate) fn upgrade_format(&self, holds: Holds) -> Result<()> {
        let Holds::Version(6) = holds else {
            return Ok(());
        };
        let path = self.location.display_path();
        if self.read_only {
            crate::error::warn_once(&format!(
                "{} is a format-6 cache opened read-only: its calls are listed and queried, but a call finds them again only once the file is opened for writing, which upgrades it to format {FORMAT_VERSION}",
                path.display()
            ));
            return Ok(());
        }
        let started = std::time::Instant::now();
        let rekeyed = self.write(|txn| {
            // Another process may have upgraded it (to this format or a later one) while this
            // one waited to write.
            let now = txn.open_table(FORMAT)?.get(VERSION_KEY)?.map(|v| v.value());
            if now != Some(6) {
                return Ok(None);
            }
            // Said on stderr too: a large cache takes seconds (about 9 µs a call), once.
            notice(
                tracing::Level::INFO,
                &format!(
                    "upgrading {} to cache format {FORMAT_VERSION} (one function's calls stored together); this runs once",
                    path.display()
                ),
                Stream::Stderr,
            );
            let rekeyed = super::rekey::cluster_call_keys(txn)?;
            write(txn)?;
            Ok(Some(rekeyed))
        })?;
        if let Some(rekeyed) = rekeyed {
            let left = match rekeyed.left {
                0 => String::new(),
                n => format!(
                    ", {n} left under their old keys (records that do not read, which `fleche verify` lists, or whose new key another call holds)"
                ),
            };
            notice(
                tracing::Level::INFO,
                &format!(
                    "{} upgraded in {:.1?}: {} calls rekeyed{left}; fleche releases before format {FORMAT_VERSION} no longer open it",
                    path.display(),
                    started.elapsed(),
                    rekeyed.moved
                ),
                Stream::Stderr,
            );
        }
        Ok(())
    }

    fn version_error(&self, found: u64) -> Error {
        let advice = if found == 5 {
            "Its tables are laid out as before format 6 (whole call keys in every index entry), which this fleche does not read: move it away or delete it to start a new cache, or open it with the fleche release that wrote it (0.1.x before format 6)."
        } else if found == 4 {
            "Its call records are stored in an older layout (CBOR with field names) that this fleche no longer reads: move it away or delete it to start a new cache, or open it with the fleche release that wrote it (0.1.x before format 5)."
        } else if found == 2 || found == 3 {
            "Its value digests follow older rules (byte arrays digested byte by byte), so none of its calls would be found again and `fleche verify` would take its values for damaged: move it away or delete it to start a new cache, or open it with the fleche release that wrote it (0.1.x before format 4)."
        } else if found < OLDEST_READ {
            "Its digests follow older rules that could return wrong values, so it is not read: move it away or delete it to start a new cache, or open it with the fleche release that wrote it (0.1.x before format 2)."
        } else {
            "It was written by a newer fleche: open it with that release, or upgrade fleche."
        };
        Error::FormatVersion {
            path: self.location.display_path(),
            found,
            expected: FORMAT_VERSION,
            crate_version: env!("CARGO_PKG_VERSION"),
            advice,
        }
    }
}

/// Writes this fleche's format version (on a new cache, in the transaction creating it).
pub(crate) fn write(txn: &redb::WriteTransaction) -> Result<(), redb::Error> {
    txn.open_table(FORMAT)?
        .insert(VERSION_KEY, FORMAT_VERSION)?;
    Ok(())
}
