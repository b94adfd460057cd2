//! stampede-contract: the facts Stampede's API and its edge must agree on, stated once for both workspaces.
//! Owns the header names they exchange, the problem types both send, the API's reads and their ids, the secret
//! rule and the bearer-token rules. Must not depend on anything: the native hosts and the wasm worker compile it.

pub mod headers;
pub mod problems;
pub mod routes;
pub mod secret;
pub mod token;
