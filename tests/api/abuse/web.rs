//! Abuse cases: web.
