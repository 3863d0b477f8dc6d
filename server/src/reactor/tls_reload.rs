//! SIGHUP with HTTPS: the certificate and key are read again for new connections.

use super::Reactor;
use crate::tls;

impl Reactor {
    /// Reads `--tls-cert` and `--tls-key` again; new HTTPS connections use the new pair, open
    /// ones keep theirs. A pair that does not load is logged and the current one kept.
    pub(super) fn reload_tls(&mut self) {
        let (Some(current), Some(files)) = (&self.cfg.tls, &self.cfg.tls_files) else {
            return;
        };
        match tls::config::reload(current, files) {
            Ok(config) => {
                self.cfg.tls = Some(config);
                log::info!(
                    "{}: SIGHUP: new HTTPS connections use {} and {}",
                    self.name,
                    files.cert.display(),
                    files.key.display()
                );
            }
            Err(e) => log::warn!(
                "{}: SIGHUP: keeping the current certificate: {}",
                self.name,
                error_chain(&e)
            ),
        }
    }
}

/// An error and its sources, as one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}
