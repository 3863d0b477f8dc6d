//! Log setup: `RUST_LOG` picks the verbosity (default `info`), `--log-format` the shape.
//! Logs go to stderr; stdout carries only the `listening` lines and the final summary.
//!
//! In JSON every line is one object: `ts`, `level`, `target`, `msg` (the human text), and each
//! structured field of the record as a key of its own (`"conns_accepted": 3`), so `jq` and log
//! collectors filter on them. Text lines are unchanged: the fields are already in their text.

use std::io::Write;

use log::kv::{Key, Source, Value, VisitSource};
use serde_json::{Map, Value as Json};

use crate::config::LogFormat;
use crate::stats::Stats;

/// Installs the global logger. Call once, before anything logs.
pub fn init(format: LogFormat) {
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    if format == LogFormat::Json {
        builder.format(|buf, record| {
            let mut line = Map::new();
            line.insert("ts".into(), buf.timestamp_millis().to_string().into());
            line.insert("level".into(), record.level().as_str().into());
            line.insert("target".into(), record.target().into());
            line.insert("msg".into(), record.args().to_string().into());
            let mut fields = JsonFields(&mut line);
            // A visitor that only inserts cannot fail.
            let _ = record.key_values().visit(&mut fields);
            writeln!(buf, "{}", Json::Object(line))
        });
    }
    builder.init();
}

/// Logs `msg` at info level under `target` (the caller's `module_path!()`, so `RUST_LOG`
/// filters stay as they were), with `reactor` and every counter of `stats` as structured fields.
pub fn log_stats(target: &'static str, reactor: &str, msg: &str, stats: &Stats) {
    if !log::log_enabled!(target: target, log::Level::Info) {
        return;
    }
    let fields = StatsFields { reactor, stats };
    log::logger().log(
        &log::Record::builder()
            .args(format_args!("{reactor}: {msg}{stats}"))
            .level(log::Level::Info)
            .target(target)
            .module_path_static(Some(target))
            .file_static(Some(file!()))
            .line(Some(line!()))
            .key_values(&fields)
            .build(),
    );
}

/// The fields of a stats line: the reactor's name and every counter.
struct StatsFields<'a> {
    reactor: &'a str,
    stats: &'a Stats,
}

impl Source for StatsFields<'_> {
    fn visit<'kvs>(&'kvs self, visitor: &mut dyn VisitSource<'kvs>) -> Result<(), log::kv::Error> {
        visitor.visit_pair(Key::from_str("reactor"), Value::from(self.reactor))?;
        for (name, value) in self.stats.fields() {
            visitor.visit_pair(Key::from_str(name), Value::from(value))?;
        }
        Ok(())
    }
}

/// Inserts each field into a JSON object, numbers and booleans as such, the rest as text.
struct JsonFields<'a>(&'a mut Map<String, Json>);

impl<'kvs> VisitSource<'kvs> for JsonFields<'_> {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), log::kv::Error> {
        self.0.insert(key.as_str().to_owned(), to_json(&value));
        Ok(())
    }
}

fn to_json(value: &Value<'_>) -> Json {
    if let Some(n) = value.to_u64() {
        return n.into();
    }
    if let Some(n) = value.to_i64() {
        return n.into();
    }
    if let Some(b) = value.to_bool() {
        return b.into();
    }
    if let Some(f) = value.to_f64() {
        return f.into();
    }
    value.to_string().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_become_typed_json_keys() {
        let stats = Stats {
            accepted: 3,
            ..Stats::default()
        };
        let fields = StatsFields {
            reactor: "reactor-0",
            stats: &stats,
        };
        let mut map = Map::new();
        fields.visit(&mut JsonFields(&mut map)).expect("visit");
        assert_eq!(map["reactor"], "reactor-0");
        assert_eq!(map["conns_accepted"], 3);
        assert_eq!(map["closed_reset"], 0);
        assert_eq!(map.len(), 1 + stats.fields().len());
    }
}
