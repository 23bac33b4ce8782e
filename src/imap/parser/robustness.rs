//! Robustness tests (filled below).
