//! Command handlers, one module per command family.
