//! HTTP/1.1 server session (work in progress).
