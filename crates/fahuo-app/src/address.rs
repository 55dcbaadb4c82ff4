//! Address parsing for staff and integrations: the same parser review uses, one or many at once.

use crate::{Actor, App, Result};
use fahuo_address::ParsedAddress;
use fahuo_domain::{ParseError, Permission};

/// Most addresses one request may parse (a pasted spreadsheet column, not a bulk import).
pub const MAX_ADDRESSES: usize = 1000;

impl App {
    /// Parses addresses as a buyer or supplier wrote them, in order.
    pub fn parse_addresses(&self, actor: &Actor, inputs: &[String]) -> Result<Vec<ParsedAddress>> {
        actor.require(Permission::ViewOrders)?;
        if inputs.is_empty() || inputs.len() > MAX_ADDRESSES {
            return Err(
                ParseError::new("addresses", format!("1 to {MAX_ADDRESSES} addresses")).into(),
            );
        }
        Ok(inputs.iter().map(|a| fahuo_address::parse(a)).collect())
    }
}
