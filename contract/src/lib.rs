//! stampede-contract: the facts Stampede's API and its edge must agree on, stated once for both workspaces.
//! Owns the header names they exchange, the problem types both send, the rule for shared secrets and the rules
//! a bearer token must meet. Must not depend on anything: the native hosts and the wasm worker both compile it.

pub mod headers;
pub mod problems;
pub mod secret;
pub mod token;
