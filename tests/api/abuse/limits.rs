//! Abuse cases: limits.
