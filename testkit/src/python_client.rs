//! Python's own clients as real peers: a script run by `python3` under a time limit, and the
//! seed texts' HTTPS client (`http.client.HTTPSConnection` with a context trusting a test CA).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::run::{run_bounded, RunOutput};

/// How long one Python client run may take before it is killed.
pub const PYTHON_LIMIT: Duration = Duration::from_secs(30);

/// The seed texts' HTTPS client: `HTTPSConnection(host, port, context=...)`, `GET` the path,
/// print the status on one line and the body after it. Arguments: host, port, CA file, path.
pub const SEED_HTTPS_GET: &str = r#"
import http.client, ssl, sys
host, port, cafile, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
context = ssl.create_default_context(cafile=cafile)
conn = http.client.HTTPSConnection(host, port, context=context, timeout=10)
conn.request("GET", path)
response = conn.getresponse()
print(response.status)
data = response.read()
print(data.decode())
conn.close()
"#;

/// Runs `script` with `python3 -c`, passing `args` as `sys.argv[1..]`.
pub fn run_python(script: &str, args: &[&str]) -> RunOutput {
    run_bounded(
        Command::new("python3").arg("-c").arg(script).args(args),
        PYTHON_LIMIT,
    )
}

/// The seed's `HTTPSConnection` GET of `path` from `host:port`, trusting `cafile`.
pub fn seed_https_get(host: &str, port: u16, cafile: &Path, path: &str) -> RunOutput {
    let port = port.to_string();
    let cafile = cafile.to_string_lossy();
    run_python(SEED_HTTPS_GET, &[host, &port, &cafile, path])
}
