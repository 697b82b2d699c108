//! Abuse cases: input.
