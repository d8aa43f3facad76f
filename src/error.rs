//! Command errors and Redis's standard error texts.

use std::borrow::Cow;

/// An error reply from a command. The text starts with the error code
/// (`ERR`, `WRONGTYPE`, ...) exactly as Redis sends it, without the `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdError(pub Cow<'static, str>);

impl CmdError {
    /// An error with a fixed text.
    pub const fn fixed(text: &'static str) -> Self {
        CmdError(Cow::Borrowed(text))
    }

    /// An error with a formatted text.
    pub fn new(text: impl Into<String>) -> Self {
        CmdError(Cow::Owned(text.into()))
    }

    /// The reply text.
    pub fn text(&self) -> &str {
        &self.0
    }
}

/// Result of a command handler: replies are written into the connection's
/// buffer on success; on error the dispatcher writes the error.
pub type CmdResult = Result<(), CmdError>;

/// `WRONGTYPE Operation against a key holding the wrong kind of value`
pub const WRONGTYPE: CmdError =
    CmdError::fixed("WRONGTYPE Operation against a key holding the wrong kind of value");
/// `ERR syntax error`
pub const SYNTAX: CmdError = CmdError::fixed("ERR syntax error");
/// `ERR value is not an integer or out of range`
pub const NOT_INTEGER: CmdError = CmdError::fixed("ERR value is not an integer or out of range");
/// `ERR value is not a valid float`
pub const NOT_FLOAT: CmdError = CmdError::fixed("ERR value is not a valid float");
/// `ERR increment or decrement would overflow`
pub const OVERFLOW: CmdError = CmdError::fixed("ERR increment or decrement would overflow");
/// `ERR no such key`
pub const NO_SUCH_KEY: CmdError = CmdError::fixed("ERR no such key");
/// `ERR index out of range`
pub const OUT_OF_RANGE: CmdError = CmdError::fixed("ERR index out of range");
/// `ERR DB index is out of range`
pub const DB_INDEX: CmdError = CmdError::fixed("ERR DB index is out of range");
/// `ERR invalid expire time in '<cmd>' command` is formatted per command; this
/// is the out-of-range integer variant used by several commands.
pub const NOT_POSITIVE: CmdError = CmdError::fixed("ERR value is out of range, must be positive");

/// `ERR value is out of range, value must between <min> and <max>`: Redis's
/// text for a number outside a command's range (HRANDFIELD, SRANDMEMBER).
pub fn out_of_range_between(min: i64, max: i64) -> CmdError {
    CmdError::new(format!(
        "ERR value is out of range, value must between {min} and {max}"
    ))
}

/// `ERR wrong number of arguments for '<cmd>' command`
pub fn wrong_arity(cmd: &str) -> CmdError {
    CmdError::new(format!(
        "ERR wrong number of arguments for '{}' command",
        cmd.to_ascii_lowercase()
    ))
}
