//! What can go wrong finding, reading or applying configuration, one variant per thing a
//! user fixes differently; every message names the file or setting and says what to do.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use super::file::COLLECTORS;

/// A problem finding, reading or applying configuration. Every message says what to do.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The current directory could not be determined.
    #[error(
        "cannot determine the current directory ({source}); run from an existing, accessible directory"
    )]
    CurrentDir {
        /// The underlying error (shared, so that the error can be cloned).
        #[source]
        source: Arc<io::Error>,
    },
    /// A configuration file exists but could not be read.
    #[error("cannot read {}: {source}; check the file's permissions or remove it", .file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// The underlying error (shared, so that the error can be cloned).
        #[source]
        source: Arc<io::Error>,
    },
    /// A configuration file is not valid TOML.
    #[error("{} is not valid TOML: {message}; fix the syntax", .file.display())]
    Syntax {
        /// The file.
        file: PathBuf,
        /// Where and what the parser complained about.
        message: String,
    },
    /// An entry does not fit the file format: a key fleche does not know, or a value of the
    /// wrong type. The message is the TOML reader's and says what was expected.
    #[error("{}, line {line}, column {column}: {}{message}; change or remove this entry", .file.display(), at_key(.key))]
    Invalid {
        /// The file.
        file: PathBuf,
        /// The line of the entry, from 1.
        line: usize,
        /// The column of the entry, from 1.
        column: usize,
        /// The dotted key of the entry or its section, such as `default.root` or `project`;
        /// empty if the reader did not name one.
        key: String,
        /// What the reader found and expected, such as "unknown field `size`, expected
        /// `path` or `type`".
        message: String,
    },
    /// A cache section has a `type` other than `file` or `memory`.
    #[error("{}: [{section}] has unknown type `{found}`; use type = \"file\" (with a path), type = \"memory\" or type = \"postgres\" (with a url)", .file.display())]
    UnknownType {
        /// The file.
        file: PathBuf,
        /// The cache section.
        section: String,
        /// The type given.
        found: String,
    },
    /// A `type = "postgres"` section that cannot be used as written.
    #[error("{}: [{section}] {message}", .file.display())]
    BadPostgres {
        /// The file.
        file: PathBuf,
        /// The cache section.
        section: String,
        /// What is wrong and what to write instead.
        message: String,
    },
    /// A cache section says neither where its file is nor that it is in memory.
    #[error("{}: [{section}] has neither `path` nor `type = \"memory\"`; add path = \"...\" for a cache file, or type = \"memory\"", .file.display())]
    MissingPath {
        /// The file.
        file: PathBuf,
        /// The cache section.
        section: String,
    },
    /// A cache section says `type = "file"` without a `path`.
    #[error("{}: [{section}] has type = \"file\" but no `path`; add path = \"...\"", .file.display())]
    FileWithoutPath {
        /// The file.
        file: PathBuf,
        /// The cache section.
        section: String,
    },
    /// A cache section says `type = "memory"` and also gives a `path`.
    #[error("{}: [{section}] has type = \"memory\" and also a `path`; remove the path, or set type = \"file\"", .file.display())]
    MemoryWithPath {
        /// The file.
        file: PathBuf,
        /// The cache section.
        section: String,
    },
    /// A cache section has `path = ""`.
    #[error("{}: [{section}] has an empty `path`; give the cache file's path, e.g. path = \".fleche/cache.redb\"", .file.display())]
    EmptyPath {
        /// The file.
        file: PathBuf,
        /// The cache section.
        section: String,
    },
    /// `max_size` is not a size.
    #[error("{}: [{section}] max_size = \"{found}\" is not a size; write it like \"10 GiB\", \"500 MB\" or a number of bytes", .file.display())]
    BadSize {
        /// The file.
        file: PathBuf,
        /// The section.
        section: String,
        /// What was written.
        found: String,
    },
    /// `[default] cache = []`.
    #[error("{}: [default] cache = [] names no cache; list the layers, top first, like [\"local\", \"team\"], or write cache = \"off\"", .file.display())]
    EmptyStack {
        /// The file.
        file: PathBuf,
    },
    /// A stack layer that cannot be one (`off`, or a name given twice).
    #[error("{}: [default] cache lists `{name}`, which cannot be a layer of a stack: {why}", .file.display())]
    BadLayer {
        /// The file.
        file: PathBuf,
        /// The name listed.
        name: String,
        /// Why not, and what to do.
        why: String,
    },
    /// A section uses the reserved name `memory`.
    #[error("{}: [{section}] cannot be a cache section because `{section}` is reserved; rename the section", .file.display())]
    ReservedName {
        /// The file.
        file: PathBuf,
        /// The reserved name.
        section: String,
    },
    /// `[default] metadata` names an unknown collector.
    #[error("{}: unknown metadata collector `{name}` in [default] metadata; use only these: {COLLECTORS}", .file.display())]
    UnknownCollector {
        /// The file.
        file: PathBuf,
        /// The unknown collector.
        name: String,
    },
    /// A path starts with `~` but the home directory is unknown.
    #[error(
        "cannot expand `~` in `{path}` ({context}) because the home directory is unknown; write an absolute path instead"
    )]
    NoHomeDir {
        /// The path as written.
        path: String,
        /// Where the path was written.
        context: String,
    },
    /// A cache name that no configuration defines.
    #[error("unknown cache `{name}` ({context}); known caches: {}. Define a [{name}] section in a fleche.toml, or use a known name{}", .known.join(", "), if *.accepts_path { " or a file path such as `./cache.redb`" } else { "" })]
    UnknownCache {
        /// The name asked for.
        name: String,
        /// Who asked for it.
        context: String,
        /// The names that would have worked, `memory` first.
        known: Vec<String>,
        /// Whether a file path would also have been accepted there.
        accepts_path: bool,
    },
}

/// `` `key`: `` before a message, or nothing when the key is unknown.
fn at_key(key: &str) -> String {
    if key.is_empty() {
        String::new()
    } else {
        format!("`{key}`: ")
    }
}
