//! Printing an error with its causes.
//!
//! resi's error types show a cause either in their message or through
//! [`source()`](std::error::Error::source), never both: a wrapper is `#[error(transparent)]`, or
//! its message gives the context and leaves the cause to `source()`. So `{err}` alone may omit
//! the cause; wherever an error ends up as text (a log line, a rejection reason, a JSON field),
//! print [`ErrorChain`] of it, which is what `anyhow`'s `{:#}` prints: every message of the chain,
//! joined by `": "`.

use std::error::Error;
use std::fmt;

/// Displays an error and its [`source()`](Error::source) chain on one line, joined by `": "`.
///
/// ```
/// use resi_core::error::ErrorChain;
/// #[derive(Debug, thiserror::Error)]
/// #[error("reading /etc/x.toml")]
/// struct ReadError(#[source] std::io::Error);
/// let e = ReadError(std::io::Error::other("permission denied"));
/// assert_eq!(ErrorChain(&e).to_string(), "reading /etc/x.toml: permission denied");
/// ```
#[derive(Clone, Copy)]
pub struct ErrorChain<'a>(pub &'a (dyn Error + 'a));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

impl fmt::Debug for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorChain;

    #[derive(Debug, thiserror::Error)]
    enum Outer {
        #[error("loading the table")]
        Load(#[from] Inner),
    }

    #[derive(Debug, thiserror::Error)]
    #[error("reading {path}")]
    struct Inner {
        path: String,
        source: std::io::Error,
    }

    #[test]
    fn every_cause_once_in_order() {
        let e = Outer::from(Inner {
            path: "/x.csv".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        });
        assert_eq!(
            ErrorChain(&e).to_string(),
            "loading the table: reading /x.csv: entity not found"
        );
        assert_eq!(format!("{:?}", ErrorChain(&e)), ErrorChain(&e).to_string());
    }
}
