//! The one error type of the domain layer: a value that could not be parsed at the edge.

/// Why an input could not become a domain value. `field` names the input so that an API or an
/// importer can point at it; `reason` is a short English sentence for logs and developers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ParseError {
    pub field: &'static str,
    pub reason: String,
}

impl ParseError {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}
