//! Abuse cases: fairness.
