//! smtpauth-wizard: takes a Sendmail server from "listens on loopback only, relays for nobody"
//! to "accepts mail from the network and demands SMTP AUTH before relaying", following the
//! Sendmail SMTP AUTH HOWTO, safely and reversibly.
//!
//! [`engine`] has no UI code; [`cli`] is one face over it, [`tui`] the other.
pub mod cli;
pub mod engine;
pub mod mc;
pub mod relay_report;
pub mod smtp;
pub mod steps;
pub mod term;
pub mod tui;
