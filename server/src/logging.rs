//! Log setup: `RUST_LOG` picks the verbosity (default `info`), `--log-format` the shape.
//! Logs go to stderr; stdout carries only the `listening` lines and the final summary.

use std::io::Write;

use crate::config::LogFormat;

/// Installs the global logger. Call once, before anything logs.
pub fn init(format: LogFormat) {
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    if format == LogFormat::Json {
        builder.format(|buf, record| {
            let line = serde_json::json!({
                "ts": buf.timestamp_millis().to_string(),
                "level": record.level().as_str(),
                "target": record.target(),
                "msg": record.args().to_string(),
            });
            writeln!(buf, "{line}")
        });
    }
    builder.init();
}
