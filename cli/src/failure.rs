//! What went wrong, as a message and an exit code: 1 for a failure or damage found, 2 for bad
//! input or a cache that cannot be opened.

/// A failed command.
#[derive(Debug)]
pub struct Failure {
    /// What to tell the user.
    pub message: String,
    /// The exit code.
    pub code: u8,
}

/// Exit code: the command failed, or found damage.
pub const FAILED: u8 = 1;
/// Exit code: bad input, or the cache cannot be opened.
pub const USAGE: u8 = 2;

impl Failure {
    /// A failure with exit code 1.
    pub fn failed(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            code: FAILED,
        }
    }

    /// A failure with exit code 2.
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            code: USAGE,
        }
    }

    /// A fleche error met while working on an open cache: bad keys are usage errors, damage
    /// and the rest are failures.
    pub fn from_error(e: &fleche::Error) -> Failure {
        use fleche::Error as E;
        match e {
            E::PrefixTooShort { .. }
            | E::NotHex { .. }
            | E::UnknownDigest { .. }
            | E::AmbiguousDigest { .. } => Failure::usage(e.to_string()),
            _ => Failure::failed(e.to_string()),
        }
    }
}

impl From<fleche::Error> for Failure {
    fn from(e: fleche::Error) -> Failure {
        Failure::from_error(&e)
    }
}

/// A command's outcome.
pub type Outcome = Result<(), Failure>;
