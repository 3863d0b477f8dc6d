//! Alternative server designs.
