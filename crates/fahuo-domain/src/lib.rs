//! fahuo's domain core: the vocabulary of 打单发货 as pure Rust types and rules.
//!
//! Nothing in this crate does I/O, spawns tasks or reads the clock: time is always passed in.
//! Values are parsed at the edge into the newtypes of [`values`]; inside fahuo, a value that
//! exists is valid. The order lifecycle is the exhaustive transition table in [`order_state`].

pub mod aftersale;
pub mod allocation;
pub mod audit;
pub mod catalog;
pub mod deadline;
pub mod error;
pub mod fulfilment;
pub mod ids;
pub mod notice;
pub mod order;
pub mod order_state;
pub mod pack;
pub mod pii;
pub mod platform;
pub mod radar;
pub mod reports;
pub mod review;
pub mod role;
pub mod shipping;
pub mod stock;
pub mod tracking;
pub mod values;

pub use error::ParseError;
pub use ids::*;
pub use order_state::{OrderEvent, OrderState, Transition};
pub use platform::Platform;
pub use role::{Permission, Role, Scope};
pub use values::*;
