//! Structured logs with `tracing`: JSON lines for machines (CloudWatch, container logs), pretty for terminals.
//!
//! `LOG_FORMAT=json|pretty` chooses explicitly (default: pretty on a terminal, JSON otherwise); `RUST_LOG` filters
//! (default `info`).

use std::io::IsTerminal;

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// Installs the global subscriber. Call once, first thing in `main`.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = match std::env::var("LOG_FORMAT").as_deref() {
        Ok("json") => true,
        Ok("pretty") => false,
        _ => !std::io::stdout().is_terminal(),
    };
    let registry = tracing_subscriber::registry().with(filter);
    if json {
        registry.with(fmt::layer().json().flatten_event(true).with_current_span(true).with_span_list(false)).init();
    } else {
        registry.with(fmt::layer().compact()).init();
    }
}
