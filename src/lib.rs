//! smtpauth-wizard: the engine (no UI code) and its two faces, the CLI and the TUI.
pub mod mc;
pub mod relay_report;
pub mod smtp;
