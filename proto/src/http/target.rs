//! [`Target`]: which of the server's resources a request target's path names. Below both the
//! parser (which resolves a target to one) and the routes (which answer it), so neither has to
//! know the other's insides.

/// The resources the server knows, resolved from the request target's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// `/`
    Root,
    /// `/healthz`
    Healthz,
    /// `/stats`
    Stats,
    /// `/metrics`
    Metrics,
    /// `/echo`
    Echo,
    /// Anything else.
    Other,
}

impl Target {
    /// The resource a path (without query) names.
    pub(crate) fn from_path(path: &[u8]) -> Self {
        match path {
            b"/" => Self::Root,
            b"/healthz" => Self::Healthz,
            b"/stats" => Self::Stats,
            b"/metrics" => Self::Metrics,
            b"/echo" => Self::Echo,
            _ => Self::Other,
        }
    }
}
