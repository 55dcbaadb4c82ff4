//! fahuo-carriers: everything fahuo knows about carriers (快递公司) that needs no network.
//!
//! * [`registry`]: the carriers, their names and aliases, and their codes on every platform and
//!   aggregator, with the source of each fact.
//! * [`tracking_no`]: tracking-number normalisation, per-carrier formats and check digits,
//!   detection and the wrong-carrier check (`fahuo tracking detect` streams through it).
//! * [`rates`]: rate tables (首重/续重 by province or zone, volumetric weight, surcharges), pure
//!   integer arithmetic in fen and grams.
//! * [`province`], [`package`]: the plain inputs rates and selection work on (destination
//!   province, weight in grams, dimensions in mm, product tags, shop id).
//! * [`selection`]: the merchant's carrier rules, the choice per package with its explanation,
//!   and the what-if over past packages.
//!
//! Everything here is pure (no I/O besides the line streaming over caller-given readers, no
//! clock). The e-waybill (电子面单) clients live with the other network adapters in
//! `fahuo-platforms` (`waybill`), which share its HTTP, retry and rate-limit machinery; the wire
//! protocols they and the emulators speak are written down in `WAYBILL-PROTOCOLS.md` here.
//!
//! ```
//! use fahuo_carriers::{Carrier, detect, validate};
//!
//! let d = detect(" sf 1385 6287 16739").unwrap();
//! assert_eq!(d.normalized, "SF1385628716739");
//! assert_eq!(d.confident(), Some(Carrier::Sf));
//! // An SF number typed under 中通 is caught.
//! assert!(validate(Carrier::Zto, "SF1385628716739").is_err());
//! ```

pub mod package;
pub mod province;
pub mod rates;
pub mod registry;
pub mod selection;
pub mod tracking_no;

pub use package::{DimsMm, Package, Tag};
pub use province::Province;
pub use rates::{Fen, Quote, RateTable};
pub use registry::{Carrier, CodeSystem, Mapping};
pub use tracking_no::{Detection, TrackingNo, Why, detect, detect_lines, validate};
