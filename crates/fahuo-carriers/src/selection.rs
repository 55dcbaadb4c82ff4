//! Carrier selection (stub).
