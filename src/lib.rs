//! smtpauth-wizard: takes a Sendmail server from "listens on loopback only, relays for nobody"
//! to "accepts mail from the network and demands SMTP AUTH before relaying", following the
//! Sendmail SMTP AUTH HOWTO, safely and reversibly.
//!
//! [`engine`] has no UI code; [`cli`] is one face over it, [`tui`] the other.
//!
//! No unsafe code (issue 10 item 5): the crate denies it, and the two places that cannot do
//! without it allow it on that one function, with a SAFETY comment: restoring SIGPIPE's
//! default action (`cli::die_of_sigpipe`; nix offers no safe call for it) and borrowing the
//! caller's `--password-fd` descriptor (`cli::probe`; std has no safe way to borrow a raw
//! descriptor the process did not open). Neither is for speed: no benchmark asks for unsafe.
#![deny(unsafe_code)]
pub mod cli;
pub mod engine;
pub mod mc;
pub mod relay_report;
pub mod smtp;
pub mod steps;
pub mod term;
pub mod tui;
