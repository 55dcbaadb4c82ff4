//! Rate tables (stub).
