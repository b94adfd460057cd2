//! Structured logs with `tracing`: JSON lines for machines (CloudWatch, container logs), pretty for terminals.
//!
//! `LOG_FORMAT=json|pretty` chooses explicitly (default: pretty on a terminal, JSON otherwise); `RUST_LOG` filters
//! by level and target (`info`, `app=debug,aws_smithy_runtime=warn`; default `info`). Span and field directives
//! are not supported: that would take `EnvFilter`'s regex engine into every Lambda zip.

use std::io::IsTerminal;

use tracing::Level;
use tracing_subscriber::{filter::Targets, fmt, prelude::*};

/// Installs the global subscriber. Call once, first thing in `main`.
pub fn init() {
    let filter = std::env::var("RUST_LOG").ok().and_then(|directives| directives.parse::<Targets>().ok());
    let filter = filter.unwrap_or_else(|| Targets::new().with_default(Level::INFO));
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
